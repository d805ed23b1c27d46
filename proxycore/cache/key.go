package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
)

// Key returns the cache key of a request: the hex SHA-256 of the principal (the client key's id), the
// path and the canonical form of body. Bodies that differ only in key order or insignificant whitespace
// share a key; numbers are kept as written (1 and 1.0 differ), so no precision is lost.
func Key(principal, path string, body []byte) (string, error) {
	c := getCanonicalizer(principal, path)
	defer putCanonicalizer(c)
	if err := c.run(body); err != nil {
		return "", fmt.Errorf("cache key: %w", err)
	}
	return c.sum(), nil
}

// CacheableKey is Key for a body that Cacheable accepts, in one pass over the body: ok is false when the
// body is not valid JSON or Cacheable would refuse it (not an object, or "stream": true).
func CacheableKey(principal, path string, body []byte) (key string, ok bool) {
	c := getCanonicalizer(principal, path)
	defer putCanonicalizer(c)
	top := skipSpace(body, 0)
	if top >= len(body) || (body[top] != '{' && body[top] != 'n') { // an object, or null as encoding/json allows
		return "", false
	}
	if c.run(body) != nil || c.streamTrue {
		return "", false
	}
	return c.sum(), true
}

// getCanonicalizer takes a canonicalizer from the pool with the key's prefix already in its output: the
// principal and the path, each after its length so that ("ab","c") and ("a","bc") stay apart.
func getCanonicalizer(principal, path string) *canonicalizer {
	c := canonPool.Get().(*canonicalizer)
	c.spans, c.tmp = c.spans[:0], c.tmp[:0]
	c.out = binary.AppendUvarint(c.out[:0], uint64(len(principal)))
	c.out = append(c.out, principal...)
	c.out = binary.AppendUvarint(c.out, uint64(len(path)))
	c.out = append(c.out, path...)
	return c
}

// sum is the key: the hex SHA-256 of the prefix and the canonical body.
func (c *canonicalizer) sum() string {
	s := sha256.Sum256(c.out)
	return hex.EncodeToString(s[:])
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
	ct := h.Get("Content-Type")
	if ct == "application/json" || ct == "application/json; charset=utf-8" { // the usual answers, without parsing
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || (len(mt) > 5 && mt[len(mt)-5:] == "+json")
}
