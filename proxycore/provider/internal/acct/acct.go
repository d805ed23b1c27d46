// Package acct holds what the subscription-account executors (claudecode, codex, copilot, qwen) share:
// sending a call with the account's bearer token and one refresh-and-resend after 401/403, the latest
// quota picture, settings lookup, and a top-level JSON member patcher for the few body fields an
// upstream insists on. It never translates formats.
package acct

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
	"github.com/cliproxy/cliproxy/proxycore/provider"
)

// maxAuthBody bounds how much of a 401/403 body is kept while the token is refreshed.
const maxAuthBody = 1 << 20

// Caller sends the requests of one account. Its fields are read-only after construction.
type Caller struct {
	Provider string               // provider id, for errors and logs
	ID       string               // credential id
	Tokens   provider.TokenSource // current tokens
	Client   *http.Client         // shared pooled client
	Logger   *slog.Logger         // never nil after NewCaller
}

// NewCaller validates the options every subscription executor needs.
func NewCaller(providerID string, o provider.AccountOptions) (*Caller, error) {
	switch {
	case o.ID == "":
		return nil, fmt.Errorf("%s: credential id is required", providerID)
	case o.Tokens == nil:
		return nil, fmt.Errorf("%s %s: a token source is required", providerID, o.ID)
	case o.Client == nil:
		return nil, fmt.Errorf("%s %s: an HTTP client is required", providerID, o.ID)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Caller{Provider: providerID, ID: o.ID, Tokens: o.Tokens, Client: o.Client, Logger: log}, nil
}

// BuildFunc makes the upstream request for a token. It is called once per attempt, so the body reader
// must be fresh each time.
type BuildFunc func(ctx context.Context, tok oauth.Token) (*http.Request, error)

// Do sends the request built for the current token. On 401 or 403 it refreshes the token once and
// sends again; when the refresh fails or the second answer fails too, the failing response is
// returned so the router can mark the credential. Errors are network failures, token-source
// failures or a cancelled ctx; they never carry a token.
func (c *Caller) Do(ctx context.Context, build BuildFunc) (*http.Response, error) {
	tok, err := c.Tokens.Token(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("%s: getting the access token: %w", c.Provider, err)
	}
	resp, err := c.send(ctx, build, tok)
	if err != nil || !authFailure(resp.StatusCode) {
		return resp, err
	}
	// Keep the first failure so it can be returned if the refresh itself fails.
	failed, err := buffer(resp)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the %d answer: %w", c.Provider, resp.StatusCode, err)
	}
	c.Logger.Debug("upstream refused the token; refreshing once", "provider", c.Provider, "credential", c.ID, "status", failed.StatusCode)
	tok, rerr := c.Tokens.Refresh(ctx, c.ID)
	if rerr != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", c.Provider, ctx.Err())
		}
		c.Logger.Warn("token refresh after an auth failure failed", "provider", c.Provider, "credential", c.ID, "err", rerr)
		return failed, nil
	}
	return c.send(ctx, build, tok)
}

func (c *Caller) send(ctx context.Context, build BuildFunc, tok oauth.Token) (*http.Response, error) {
	if tok.AccessToken == "" {
		return nil, fmt.Errorf("%s: the account has no access token: log in again", c.Provider)
	}
	req, err := build(ctx, tok)
	if err != nil {
		return nil, fmt.Errorf("%s: building the request: %w", c.Provider, err)
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Provider, scrub(err, tok.AccessToken))
	}
	return resp, nil
}

func authFailure(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

// buffer reads a (small) error body into memory and closes the original, so the response can outlive
// the connection.
func buffer(resp *http.Response) (*http.Response, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAuthBody))
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// scrub replaces any occurrence of the token in a transport error. The transport never puts header
// values into errors, but a proxy or a redirect URL might echo one back.
func scrub(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), token, oauth.Mask(token)), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }

// Is keeps errors.Is(err, context.Canceled) and the like working without exposing the original text.
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.err, target) }

// Setting returns settings[key], or def when it is missing or blank.
func Setting(settings map[string]string, key, def string) string {
	if v := strings.TrimSpace(settings[key]); v != "" {
		return v
	}
	return def
}

// QuotaBox keeps the latest quota picture. The zero value is ready to use and safe for concurrent use;
// a stored Quota is never modified afterwards, so readers may keep it.
type QuotaBox struct {
	p atomic.Pointer[provider.Quota]
}

// Load returns the latest quota, or the zero Quota when none was seen.
func (b *QuotaBox) Load() provider.Quota {
	if q := b.p.Load(); q != nil {
		return *q
	}
	return provider.Quota{}
}

// Store replaces the quota picture.
func (b *QuotaBox) Store(q provider.Quota) { b.p.Store(&q) }

// Quota implements provider.QuotaReporter for executors that embed a QuotaBox.
func (b *QuotaBox) Quota() provider.Quota { return b.Load() }

// NewUUID returns a random RFC 4122 version 4 UUID, for the request and session ids clients send.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0x0f])
	}
	return string(out)
}

// Base implements the identity methods every account executor shares; executors embed it.
type Base struct {
	Call    *Caller
	BaseURL string           // the base-url setting (or the provider default), no trailing slash
	Now     func() time.Time // time.Now; quota hints are stamped with it
	label   string
}

// NewBase validates the options and returns the shared part of an account executor; defBase is the
// provider's default base URL.
func NewBase(providerID string, o provider.AccountOptions, defBase string) (Base, error) {
	c, err := NewCaller(providerID, o)
	if err != nil {
		return Base{}, err
	}
	base := strings.TrimRight(Setting(o.Settings, "base-url", defBase), "/")
	if u, err := url.Parse(base); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return Base{}, fmt.Errorf("providers.%s.base-url: %q is not an absolute http(s) URL", providerID, base)
	}
	return Base{Call: c, BaseURL: base, Now: time.Now, label: o.Label}, nil
}

// CredentialID returns the credential id.
func (b Base) CredentialID() string { return b.Call.ID }

// Provider returns the provider id.
func (b Base) Provider() string { return b.Call.Provider }

// Label returns the account label (usually the e-mail or login).
func (b Base) Label() string { return b.label }

// NewRequest builds a JSON POST with the bearer token and the Accept header of a stream or a
// single-object answer.
func NewRequest(ctx context.Context, u string, body []byte, stream bool, token string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h["Content-Type"] = jsonType
	if stream {
		h["Accept"] = sseType
	} else {
		h["Accept"] = jsonType
	}
	h["Authorization"] = []string{"Bearer " + token}
	return req, nil
}

// Shared header values; never modified.
var (
	jsonType = []string{"application/json"}
	sseType  = []string{"text/event-stream"}
)
