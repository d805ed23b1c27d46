package limit

import (
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge reports a body over its size limit: 413 for a client request, 502 for an upstream
// response (config [limits] max-request-size-mb / max-response-size-mb).
var ErrTooLarge = errors.New("body exceeds the size limit")

// MB converts a size in megabytes, as written in the config, to bytes; zero or less means no limit.
func MB(mb int) int64 {
	if mb <= 0 {
		return 0
	}
	return int64(mb) << 20
}

// ReadLimited reads r to the end, failing with an error that wraps ErrTooLarge as soon as more than max
// bytes arrive, so an oversized body is never held whole in memory. max <= 0 means no limit.
func ReadLimited(r io.Reader, max int64) ([]byte, error) {
	if max <= 0 {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("reading body: %w", err)
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("more than %d bytes: %w", max, ErrTooLarge)
	}
	return b, nil
}
