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
