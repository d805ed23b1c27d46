package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// EnvConfigPath names the environment variable that overrides the default config path.
const EnvConfigPath = "CLIPROXY_CONFIG"

// EnvStrictConfig names the environment variable that turns strict mode on when set to 1 or true.
const EnvStrictConfig = "CLIPROXY_STRICT_CONFIG"

// lookupFunc reads an environment variable; os.LookupEnv in production, a map in some tests.
type lookupFunc func(name string) (string, bool)

// UnknownKeyError reports a key in the file that the schema does not know.
type UnknownKeyError struct {
	// File is the name given to Parse (usually the path).
	File string
	// Key is the key path, e.g. "cache.max-entrys" or "openai[1].api_key" (an index is known for
	// [[array tables]], not for entries of inline arrays).
	Key string
	// Line and Column are 1-based positions of the key.
	Line, Column int
}

// Error returns "file:line:col: unknown key KEY".
func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("%s:%d:%d: unknown key %s", e.File, e.Line, e.Column, e.Key)
}

// SyntaxError reports TOML that cannot be parsed or decoded into the schema (a wrong type, a duplicate
// key). Its message never contains the document text, so no secret can leak through it.
type SyntaxError struct {
	// File is the name given to Parse (usually the path).
	File string
	// Line and Column are 1-based positions of the problem.
	Line, Column int
	// Msg says what is wrong, naming the key when it is known.
	Msg string
	err error
}

// Error returns "file:line:col: message".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Unwrap returns the underlying go-toml error.
func (e *SyntaxError) Unwrap() error { return e.err }

// ResolvePath picks the config file: the --config flag value, else $CLIPROXY_CONFIG, else
// <user config dir>/cliproxy/config.toml. explicit is false only for the default path, whose absence
// means "use the defaults". When the user config dir is unknown the path is "" (defaults).
func ResolvePath(flagValue string) (path string, explicit bool) {
	return resolvePath(flagValue, os.LookupEnv, os.UserConfigDir)
}

func resolvePath(flagValue string, env lookupFunc, userConfigDir func() (string, error)) (string, bool) {
	if flagValue != "" {
		return flagValue, true
	}
	if p, ok := env(EnvConfigPath); ok && p != "" {
		return p, true
	}
	dir, err := userConfigDir()
	if err != nil || dir == "" {
		return "", false
	}
	return filepath.Join(dir, "cliproxy", "config.toml"), false
}

// Load reads, parses and validates the file at path (see Parse). A missing file gives Default() when
// explicit is false and an error when it is true.
func Load(path string, explicit bool) (*Config, error) {
	return load(path, explicit, os.LookupEnv)
}

func load(path string, explicit bool, env lookupFunc) (*Config, error) {
	data, err := readFile(path, explicit)
	if err != nil {
		return nil, err
	}
	if data == nil {
		cfg := Default()
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("default configuration: %w", err)
		}
		return cfg, nil
	}
	return parse(data, path, env)
}

// readFile returns the file's bytes, or nil bytes and no error when a default path does not exist.
func readFile(path string, explicit bool) ([]byte, error) {
	if path == "" && !explicit {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !explicit {
			return nil, nil
		}
		return nil, fmt.Errorf("reading config: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// Parse decodes a TOML document over Default(), expands os.environ/NAME values and validates the
// result. name labels positions in messages (usually the path). Unknown keys are errors in strict mode
// (strict-config = true or CLIPROXY_STRICT_CONFIG=1) and otherwise become Warnings. The error joins
// every problem found.
func Parse(data []byte, name string) (*Config, error) {
	return parse(data, name, os.LookupEnv)
}

func parse(data []byte, name string, env lookupFunc) (*Config, error) {
	cfg, problems, err := decode(data, name, env)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: invalid configuration: %w", name, err)
	}
	return cfg, nil
}

// Check reports every problem of the file at path for `cliproxy config check FILE`: syntax errors,
// unknown keys (errors in strict mode, warnings otherwise), missing environment variables and
// validation failures, each as its own error.
func Check(path string) (warnings []string, errs []error) {
	return check(path, os.LookupEnv)
}

func check(path string, env lookupFunc) ([]string, []error) {
	data, err := readFile(path, true)
	if err != nil {
		return nil, []error{err}
	}
	cfg, problems, err := decode(data, path, env)
	if err != nil {
		return nil, []error{err}
	}
	if verr := cfg.Validate(); verr != nil {
		problems = append(problems, unjoin(verr)...)
	}
	return cfg.Warnings(), problems
}

// unjoin splits an errors.Join result into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// decode parses data over the defaults. err is a fatal syntax error (no config); problems are unknown
// keys in strict mode and environment errors, found while the rest of the file still decoded.
func decode(data []byte, name string, env lookupFunc) (cfg *Config, problems []error, err error) {
	cfg = Default()
	derr := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(cfg)
	var unknown []*UnknownKeyError
	var strictErr *toml.StrictMissingError
	var decErr *toml.DecodeError
	switch {
	case derr == nil:
	case errors.As(derr, &strictErr):
		headers := indexHeaders(data)
		for i := range strictErr.Errors {
			e := &strictErr.Errors[i]
			line, col := e.Position()
			unknown = append(unknown, &UnknownKeyError{
				File: name, Key: indexedKey(headers, e.Key(), line), Line: line, Column: col,
			})
		}
	case errors.As(derr, &decErr):
		line, col := decErr.Position()
		msg := friendlyDecodeMessage(strings.TrimPrefix(decErr.Error(), "toml: "))
		if k := decErr.Key(); len(k) > 0 {
			msg = "key " + strings.Join(k, ".") + ": " + msg
		}
		return nil, nil, &SyntaxError{File: name, Line: line, Column: col, Msg: msg, err: derr}
	default:
		return nil, nil, fmt.Errorf("%s: decoding config: %w", name, derr)
	}

	if cfg.StrictConfig || envTrue(env, EnvStrictConfig) {
		for _, u := range unknown {
			problems = append(problems, u)
		}
	} else {
		for _, u := range unknown {
			cfg.warnings = append(cfg.warnings, u.Error()+" (ignored)")
		}
	}
	problems = append(problems, expandEnv(cfg, env)...)
	return cfg, problems, nil
}

func envTrue(env lookupFunc, name string) bool {
	v, _ := env(name)
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// friendlyDecodeMessage turns go-toml's "cannot decode TOML string into struct field config.Config.Port
// of type int" into "expected an integer, found a string", which names no Go types.
func friendlyDecodeMessage(msg string) string {
	found, rest, ok := strings.Cut(strings.TrimPrefix(msg, "cannot decode TOML "), " into ")
	if !ok || !strings.HasPrefix(msg, "cannot decode TOML ") {
		return msg
	}
	i := strings.LastIndex(rest, " of type ")
	if i < 0 {
		return msg
	}
	goType := rest[i+len(" of type "):]
	var want string
	switch {
	case strings.HasPrefix(goType, "[]"):
		want = "an array"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "config."), strings.HasPrefix(goType, "struct"):
		want = "a table"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		want = "an integer"
	case strings.HasPrefix(goType, "float"), goType == "*float64":
		want = "a number"
	case goType == "string":
		want = "a string"
	case goType == "bool":
		want = "a boolean"
	default:
		return msg
	}
	return "expected " + want + ", found " + found
}
