package limit

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadLimited(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		max     int64
		tooBig  bool
		wantLen int
	}{
		{"under", "hello", 10, false, 5},
		{"exactly at the limit", "hello", 5, false, 5},
		{"one over", "hello!", 5, true, 0},
		{"no limit", strings.Repeat("x", 1<<16), 0, false, 1 << 16},
		{"empty", "", 1, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ReadLimited(strings.NewReader(tc.body), tc.max)
			if got := errors.Is(err, ErrTooLarge); got != tc.tooBig {
				t.Fatalf("ErrTooLarge = %v, want %v (err %v)", got, tc.tooBig, err)
			}
			if !tc.tooBig && (err != nil || len(b) != tc.wantLen) {
				t.Fatalf("got %d bytes, err %v; want %d", len(b), err, tc.wantLen)
			}
		})
	}
	if _, err := ReadLimited(iotest.ErrReader(errors.New("boom")), 10); err == nil || errors.Is(err, ErrTooLarge) {
		t.Fatalf("read error not reported as such: %v", err)
	}
}

func TestMB(t *testing.T) {
	if MB(20) != 20<<20 || MB(0) != 0 || MB(-1) != 0 {
		t.Fatalf("MB conversions wrong: %d %d %d", MB(20), MB(0), MB(-1))
	}
}
