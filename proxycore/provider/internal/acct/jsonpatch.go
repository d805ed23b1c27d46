package acct

import (
	"errors"
	"strconv"
)

// errNotObject is returned for a body that is not one JSON object.
var errNotObject = errors.New("request body is not a JSON object")

// Member returns the raw value of the top-level member name of the JSON object body, and whether it
// is present. It scans the bytes without decoding the rest of the body, which for coding agents is
// often hundreds of kilobytes of history.
func Member(body []byte, name string) ([]byte, bool) {
	var out []byte
	found := false
	_ = eachMember(body, func(key []byte, start, end int) bool {
		if string(key) == name {
			out, found = body[start:end], true
			return false
		}
		return true
	})
	return out, found
}

// Patch rewrites top-level members of the JSON object body: each name in set gets the given raw JSON
// value (replaced in place, or appended when absent), each name in del is removed. Everything else is
// copied byte for byte. Keys are compared without unescaping, which is exact for the plain ASCII names
// used here; names in set must be plain ASCII.
func Patch(body []byte, set map[string][]byte, del ...string) ([]byte, error) {
	out := make([]byte, 0, len(body)+64)
	out = append(out, '{')
	done := make(map[string]bool, len(set))
	first := true
	err := eachMember(body, func(key []byte, start, end int) bool {
		k := string(key)
		for _, d := range del {
			if d == k {
				return true
			}
		}
		val := body[start:end]
		if v, ok := set[k]; ok {
			if done[k] {
				return true // a duplicate key: keep only the first, now replaced
			}
			val, done[k] = v, true
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, '"') // the key as it was written, escapes and all
		out = append(out, key...)
		out = append(out, '"', ':')
		out = append(out, val...)
		return true
	})
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(set) {
		if done[k] {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = strconv.AppendQuote(out, k)
		out = append(out, ':')
		out = append(out, set[k]...)
	}
	return append(out, '}'), nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ { // tiny maps: insertion sort keeps output deterministic
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// eachMember calls fn with every top-level key (raw, without quotes) and the byte span of its value,
// until fn returns false. It checks structure only as far as it needs to find the spans.
func eachMember(body []byte, fn func(key []byte, start, end int) bool) error {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return errNotObject
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return nil
	}
	for {
		if i >= len(body) || body[i] != '"' {
			return errNotObject
		}
		kend, err := skipString(body, i)
		if err != nil {
			return err
		}
		key := body[i+1 : kend-1]
		i = skipSpace(body, kend)
		if i >= len(body) || body[i] != ':' {
			return errNotObject
		}
		start := skipSpace(body, i+1)
		end, err := skipValue(body, start)
		if err != nil {
			return err
		}
		if !fn(key, start, end) {
			return nil
		}
		i = skipSpace(body, end)
		if i >= len(body) {
			return errNotObject
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case '}':
			return nil
		default:
			return errNotObject
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errNotObject
}

// skipValue returns the index just past the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errNotObject
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errNotObject
	default: // number, true, false, null
		j := i
		for j < len(b) && !endOfLiteral(b[j]) {
			j++
		}
		if j == i {
			return 0, errNotObject
		}
		return j, nil
	}
}

func endOfLiteral(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}
