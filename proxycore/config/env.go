package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// EnvPrefix marks a string value read from the environment at load time: "os.environ/NAME".
const EnvPrefix = "os.environ/"

// EnvError reports an os.environ/NAME value whose variable is unset, empty or badly named.
type EnvError struct {
	// Key is the key path holding the reference, e.g. "openai[0].api-key".
	Key string
	// Variable is the environment variable name.
	Variable string
	// Reason says what is wrong ("is not set", "is empty", "is not a valid name").
	Reason string
}

// Error returns "KEY: environment variable NAME REASON"; it never contains a value.
func (e *EnvError) Error() string {
	return fmt.Sprintf("%s: environment variable %s %s", e.Key, e.Variable, e.Reason)
}

// expandEnv replaces every os.environ/NAME string in cfg, wherever it is (fields, lists, tables, map
// values, provider entries), and returns one error per unresolved reference.
func expandEnv(cfg *Config, env lookupFunc) []error {
	var errs []error
	walkStrings(reflect.ValueOf(cfg).Elem(), "", func(key, s string) (string, bool) {
		name, ok := strings.CutPrefix(s, EnvPrefix)
		if !ok {
			return s, false
		}
		if !validEnvName(name) {
			errs = append(errs, &EnvError{Key: key, Variable: strconv.Quote(name), Reason: "is not a valid name"})
			return s, false
		}
		v, set := env(name)
		switch {
		case !set:
			errs = append(errs, &EnvError{Key: key, Variable: name, Reason: "is not set"})
			return s, false
		case v == "":
			errs = append(errs, &EnvError{Key: key, Variable: name, Reason: "is empty"})
			return s, false
		}
		return v, true
	})
	return errs
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// walkStrings calls fn for every string reachable from v (which must be settable), naming each by its
// TOML key path, and stores the replacement when fn reports a change. Map keys are visited in sorted
// order so that messages are deterministic.
func walkStrings(v reflect.Value, key string, fn func(key, s string) (string, bool)) {
	switch v.Kind() {
	case reflect.String:
		if s, changed := fn(key, v.String()); changed {
			v.SetString(s)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			walkStrings(v.Elem(), key, fn)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if f.Anonymous {
				walkStrings(v.Field(i), key, fn)
				continue
			}
			walkStrings(v.Field(i), joinKey(key, tomlName(f)), fn)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(v.Index(i), key+"["+strconv.Itoa(i)+"]", fn)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(v.MapIndex(k))
			walkStrings(elem, joinKey(key, quoteKey(k.String())), fn)
			v.SetMapIndex(k, elem)
		}
	}
}

// tomlName returns the key name of a struct field from its toml tag.
func tomlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// quoteKey quotes a map key the way TOML would when it is not a bare key.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for _, r := range k {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return strconv.Quote(k)
		}
	}
	return k
}
