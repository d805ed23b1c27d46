package config

import (
	"net/url"
	"reflect"
	"strings"
)

// maskShowLast is how many trailing characters MaskSecret keeps visible.
const maskShowLast = 4

// maskMinLen is the shortest secret that keeps its last characters; shorter ones are masked whole, since
// four characters of a short secret are most of it.
const maskMinLen = 12

// MaskSecret hides a secret for display: "****" plus its last four characters ("****abcd"), or
// "****" alone for secrets shorter than 12 characters. The empty string stays empty (nothing is set).
func MaskSecret(s string) string {
	if s == "" {
		return ""
	}
	r := []rune(s)
	if len(r) < maskMinLen {
		return "****"
	}
	return "****" + string(r[len(r)-maskShowLast:])
}

// IsSecretHeader reports whether a header's value should be treated as a secret: Authorization,
// Proxy-Authorization, Cookie, and any name containing "key", "token", "secret", "password" or "auth".
func IsSecretHeader(name string) bool {
	n := strings.ToLower(name)
	if n == "cookie" {
		return true
	}
	for _, part := range []string{"auth", "key", "token", "secret", "password"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

// Clone returns a deep copy of c; changing the copy's slices and maps leaves c untouched.
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	out := deepCopy(reflect.ValueOf(c).Elem()).Interface().(Config)
	out.warnings = append([]string(nil), c.warnings...)
	return &out
}

// Redacted returns a deep copy of c with every secret masked by MaskSecret: api-keys, provider
// api-key values, secret-looking header values, keystore.encryption-key, remote-management.secret-key
// and the passwords of URLs (redis.url, proxy and base URLs, pass-through targets, provider endpoints). Use it for logs and the management config view.
func (c *Config) Redacted() *Config {
	out := c.Clone()
	out.visitSecrets(func(s string) string { return MaskSecret(s) })
	return out
}

// Secrets returns every secret value in c (the ones Redacted masks), so tests can check that none
// reaches a log sink or a response.
func (c *Config) Secrets() []string {
	var out []string
	c.Clone().visitSecrets(func(s string) string {
		out = append(out, s)
		return s
	})
	return out
}

// visitSecrets calls fn with each non-empty secret and stores its result in place. For URLs only the
// password part is a secret.
func (c *Config) visitSecrets(fn func(string) string) {
	plain := func(s *string) {
		if *s != "" {
			*s = fn(*s)
		}
	}
	inURL := func(s *string) {
		*s = maskURLPassword(*s, fn)
	}
	for i := range c.APIKeys {
		plain(&c.APIKeys[i])
	}
	plain(&c.Keystore.EncryptionKey)
	plain(&c.RemoteManagement.SecretKey)
	inURL(&c.Redis.URL)
	inURL(&c.ProxyURL)
	entry := func(e *APIKeyProvider) {
		plain(&e.APIKey)
		inURL(&e.ProxyURL)
		inURL(&e.BaseURL)
		for name, val := range e.Headers {
			if IsSecretHeader(name) && val != "" {
				e.Headers[name] = fn(val)
			}
		}
	}
	for _, list := range [][]APIKeyProvider{c.OpenAI, c.Anthropic, c.Gemini} {
		for i := range list {
			entry(&list[i])
		}
	}
	for i := range c.OpenAICompatible {
		entry(&c.OpenAICompatible[i].APIKeyProvider)
	}
	for i := range c.PassThrough.Endpoints {
		inURL(&c.PassThrough.Endpoints[i].Target)
	}
	for id, e := range c.Providers {
		for _, u := range []*string{&e.BaseURL, &e.AuthURL, &e.TokenURL, &e.DeviceCodeURL, &e.CopilotTokenURL,
			&e.RegisterURL, &e.RedirectURL, &e.UserInfoURL, &e.APIURL} {
			inURL(u)
		}
		c.Providers[id] = e
	}
}

// maskURLPassword replaces the password of a URL's user info by fn(password); other strings are kept.
func maskURLPassword(raw string, fn func(string) string) string {
	if raw == "" || !strings.Contains(raw, "@") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" {
		return raw
	}
	masked := fn(pw)
	if masked == pw {
		return raw
	}
	// A placeholder keeps url.String from percent-encoding the mask's asterisks.
	const placeholder = "cliproxy-masked-password"
	u.User = url.UserPassword(u.User.Username(), placeholder)
	return strings.Replace(u.String(), placeholder, masked, 1)
}

// deepCopy copies v recursively (slices, maps, pointers); unexported fields are left zero.
func deepCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(deepCopy(v.Elem()))
			out.Set(p)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
	case reflect.Slice:
		if !v.IsNil() {
			s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			for i := range v.Len() {
				s.Index(i).Set(deepCopy(v.Index(i)))
			}
			out.Set(s)
		}
	case reflect.Map:
		if !v.IsNil() {
			m := reflect.MakeMapWithSize(v.Type(), v.Len())
			iter := v.MapRange()
			for iter.Next() {
				m.SetMapIndex(iter.Key(), deepCopy(iter.Value()))
			}
			out.Set(m)
		}
	default:
		out.Set(v)
	}
	return out
}
