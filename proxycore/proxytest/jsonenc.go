package proxytest

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// kv is one member of an ordered JSON object.
type kv struct {
	k string
	v any
}

// obj is a JSON object that keeps its members in the order written, so fake bodies read like the
// vendor's own (field order is not significant to parsers, but it helps humans diffing bodies).
type obj []kv

// MarshalJSON encodes o in order.
func (o obj) MarshalJSON() ([]byte, error) { return appendJSON(nil, o), nil }

// raw is pre-encoded JSON inserted verbatim.
type raw []byte

// encode returns the JSON encoding of v.
func encode(v any) []byte { return appendJSON(make([]byte, 0, 512), v) }

// appendJSON appends the JSON encoding of v, handling the few types the fakes build directly and
// falling back to encoding/json for anything else.
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case obj:
		b = append(b, '{')
		for i, m := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m.k)
			b = append(b, ':')
			b = appendJSON(b, m.v)
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case []obj:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case string:
		return appendString(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case bool:
		return strconv.AppendBool(b, x)
	case raw:
		return append(b, x...)
	case json.RawMessage:
		return append(b, x...)
	default:
		enc, err := json.Marshal(x)
		if err != nil {
			return append(b, "null"...)
		}
		return append(b, enc...)
	}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping quotes, backslashes, control characters and
// invalid UTF-8 (replaced with U+FFFD) as encoding/json does, but leaving <, > and & alone like the
// vendors' servers.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
