package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"unicode/utf8"
)

// Key returns the cache key of a request: the hex SHA-256 of the principal (the client key's id), the
// path and the canonical form of body. Bodies that differ only in key order or insignificant whitespace
// share a key; numbers are kept as written (1 and 1.0 differ), so no precision is lost.
func Key(principal, path string, body []byte) (string, error) {
	canon, err := Canonicalize(body)
	if err != nil {
		return "", fmt.Errorf("cache key: %w", err)
	}
	h := sha256.New()
	// Length prefixes keep ("ab","c") and ("a","bc") apart.
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(principal)))])
	h.Write([]byte(principal))
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(path)))])
	h.Write([]byte(path))
	h.Write(canon)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])), nil
}

// Canonicalize re-encodes a JSON document with object keys sorted, insignificant whitespace removed and
// numbers kept textually. Strings are re-escaped minimally, so "\u0041" and "A" become the same text.
func Canonicalize(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("body is not JSON: data after the top-level value")
	}
	return appendCanonical(make([]byte, 0, len(body)), v), nil
}

func appendCanonical(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if v {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case json.Number:
		return append(b, v...)
	case string:
		return appendString(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonical(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendCanonical(b, v[k])
		}
		return append(b, '}')
	default:
		// json.Decoder with UseNumber yields only the types above.
		panic(fmt.Sprintf("cache: unexpected JSON value %T", v))
	}
}

// appendString writes s as a JSON string, escaping only what RFC 8259 requires.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			b = utf8.AppendRune(b, r) // invalid UTF-8 becomes U+FFFD, as the decoder already did
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}

// Cacheable reports whether a request body may be answered from the cache: it must be a JSON object
// that does not ask for a stream ("stream": true). Gemini streams are chosen by the URL
// (:streamGenerateContent), which the caller checks.
func Cacheable(body []byte) bool {
	var probe struct {
		Stream json.RawMessage `json:"stream"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return false
	}
	return !bytes.Equal(bytes.TrimSpace(probe.Stream), []byte("true"))
}

// CacheableResponse reports whether a complete upstream response may be stored: a 2xx status with a
// JSON content type.
func CacheableResponse(status int, h http.Header) bool {
	if status < 200 || status > 299 {
		return false
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return false
	}
	return mt == "application/json" || (len(mt) > 5 && mt[len(mt)-5:] == "+json")
}
