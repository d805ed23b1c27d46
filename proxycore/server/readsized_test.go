package server

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadSized(t *testing.T) {
	body := strings.Repeat("0123456789", 300) // 3000 bytes
	cases := []struct {
		name      string
		max, hint int64
		want      int
		tooLarge  bool
	}{
		{"announced length", 4096, 3000, 3000, false},
		{"unknown length", 4096, -1, 3000, false},
		{"announced length too small", 4096, 10, 3000, false},
		{"announced length too large", 4096, 4000, 3000, false},
		{"exactly the limit", 3000, 3000, 3000, false},
		{"over the limit, announced", 2999, 3000, 2999, true},
		{"over the limit, unknown", 100, -1, 100, true},
		{"over the limit, understated", 100, 50, 100, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// OneByteReader and HalfReader make short reads, as a network body does.
			for _, r := range []io.Reader{strings.NewReader(body), iotest.OneByteReader(strings.NewReader(body)), iotest.HalfReader(strings.NewReader(body))} {
				got, err := readSized(r, c.max, c.hint)
				if c.tooLarge != errors.Is(err, errBodyTooLarge) || (!c.tooLarge && err != nil) {
					t.Fatalf("err = %v, too large expected: %v", err, c.tooLarge)
				}
				if len(got) != c.want || !bytes.Equal(got, []byte(body[:c.want])) {
					t.Fatalf("read %d bytes, want the first %d", len(got), c.want)
				}
			}
		})
	}
	if _, err := readSized(iotest.ErrReader(io.ErrUnexpectedEOF), 100, -1); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a failing reader: err = %v", err)
	}
}
