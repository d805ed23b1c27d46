package translate

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a tiny allocation-free JSON field reader used by the stream decoders' fast paths for
// the hot delta events; anything unusual falls back to encoding/json. Inputs must already be known to be
// valid JSON (json.Valid), because the scanner does not validate.

// objEach calls fn for each member of the JSON object b (keys still quoted) until fn returns false.
func objEach(b []byte, fn func(key, val []byte) bool) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i++
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case '}':
			return true
		case ',':
			i++
			continue
		}
		ks := i
		i = skipString(b, i)
		key := b[ks:min(i, len(b))]
		i = skipWS(b, i) + 1
		i = skipWS(b, i)
		vs := i
		i = skipValue(b, i)
		if i > len(b) {
			return false
		}
		if !fn(key, b[vs:i]) {
			return true
		}
	}
}

// objGet returns the raw value of key in the JSON object b, or nil.
func objGet(b []byte, key string) []byte {
	var out []byte
	objEach(b, func(k, v []byte) bool {
		if len(k) == len(key)+2 && string(k[1:len(k)-1]) == key {
			out = v
			return false
		}
		return true
	})
	return out
}

// arrayFirst returns the first element of the JSON array b, or nil.
func arrayFirst(b []byte) []byte {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil
	}
	i = skipWS(b, i+1)
	if i >= len(b) || b[i] == ']' {
		return nil
	}
	j := skipValue(b, i)
	if j > len(b) {
		return nil
	}
	return b[i:j]
}

func isNull(v []byte) bool { return v == nil || string(v) == "null" }

// rawInt parses a JSON integer.
func rawInt(v []byte) (int, bool) {
	n, err := strconv.Atoi(string(v))
	return n, err == nil
}

// rawString decodes a JSON string literal, using scratch for unescaping. ok is false for non-strings.
func rawString(v []byte, scratch *[]byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	s := v[1 : len(v)-1]
	esc := false
	for _, c := range s {
		if c == '\\' {
			esc = true
			break
		}
	}
	if !utf8.Valid(s) {
		return "", false // let encoding/json apply its U+FFFD replacement
	}
	if !esc {
		return string(s), true
	}
	out := (*scratch)[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return "", false
		}
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s[i+1:])
			if !ok {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2, ok := hex4(s[i+3:]); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							i += 6
						} else {
							r = utf8.RuneError
						}
					}
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	*scratch = out
	return string(out), true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// arrayEach calls fn for each element of the JSON array b until fn returns false.
func arrayEach(b []byte, fn func(v []byte) bool) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return false
	}
	i++
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ']':
			return true
		case ',':
			i++
			continue
		}
		j := skipValue(b, i)
		if j > len(b) {
			return false
		}
		if !fn(b[i:j]) {
			return true
		}
		i = j
	}
}
