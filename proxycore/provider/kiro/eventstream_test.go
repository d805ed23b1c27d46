package kiro

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"
	"testing/iotest"

	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

// Published encodings of {"foo": "bar"} without headers and with a content-type header (the Elixir
// event_stream package documents these byte sequences for the AWS encoding).
var (
	vectorNoHeaders = []byte{0, 0, 0, 30, 0, 0, 0, 0, 186, 242, 246, 138, '{', '"', 'f', 'o', 'o', '"', ':', ' ', '"', 'b', 'a', 'r', '"', '}', 174, 114, 88, 228}
)

func TestEncoderMatchesPublishedVector(t *testing.T) {
	got := proxytest.EventStreamFrame(nil, []byte(`{"foo": "bar"}`))
	if !bytes.Equal(got, vectorNoHeaders) {
		t.Fatalf("frame = %v\nwant    %v", got, vectorNoHeaders)
	}
	with := proxytest.EventStreamFrame([][2]string{{"content-type", "application/json"}}, []byte(`{"foo": "bar"}`))
	if len(with) != 62 || !bytes.Equal(with[8:12], []byte{64, 93, 249, 70}) || !bytes.Equal(with[58:], []byte{111, 162, 191, 59}) {
		t.Fatalf("frame with header = %v", with)
	}
}

func frames(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	b.Write(proxytest.KiroEvent("assistantResponseEvent", []byte(`{"content":"Hel"}`)))
	b.Write(proxytest.KiroEvent("assistantResponseEvent", []byte(`{"content":"lo"}`)))
	b.Write(proxytest.KiroEvent("toolUseEvent", []byte(`{"name":"get","toolUseId":"t1","input":"{\"a\":"}`)))
	b.Write(proxytest.KiroEvent("toolUseEvent", []byte(`{"name":"get","toolUseId":"t1","input":"1}","stop":true}`)))
	b.Write(proxytest.KiroEvent("contextUsageEvent", []byte(`{"contextUsagePercentage":1.5}`)))
	return b.Bytes()
}

func TestDecoderSplitReads(t *testing.T) {
	data := frames(t)
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(data) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) },
		"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
		"data+EOF": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
	}
	for name, mk := range readers {
		t.Run(name, func(t *testing.T) {
			d := NewDecoder(mk())
			var types []string
			var f Frame
			for {
				err := d.Next(&f)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if f.MessageType != "event" || f.ContentType != "application/json" {
					t.Fatalf("headers = %+v", f)
				}
				types = append(types, f.EventType)
			}
			want := []string{"assistantResponseEvent", "assistantResponseEvent", "toolUseEvent", "toolUseEvent", "contextUsageEvent"}
			if len(types) != len(want) {
				t.Fatalf("event types = %v", types)
			}
		})
	}
}

func TestDecoderRejectsCorruptFrames(t *testing.T) {
	good := proxytest.KiroEvent("assistantResponseEvent", []byte(`{"content":"x"}`))
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"message crc", mut(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrChecksum},
		{"payload byte", mut(func(b []byte) []byte { b[len(b)-6] ^= 1; return b }), ErrChecksum},
		{"prelude crc", mut(func(b []byte) []byte { b[9] ^= 1; return b }), ErrChecksum},
		{"total length", mut(func(b []byte) []byte { b[3]++; return b }), ErrChecksum},
		{"truncated", good[:len(good)-3], io.ErrUnexpectedEOF},
		{"truncated prelude", good[:7], io.ErrUnexpectedEOF},
		{"too large", proxytest.EventStreamFrame(nil, make([]byte, MaxFrameSize)), ErrFrame},
		{"headers past end", func() []byte {
			b := proxytest.EventStreamFrame([][2]string{{"x", "y"}}, nil)
			b[7] = 200
			return refreshCRCs(b)
		}(), ErrFrame},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f Frame
			err := NewDecoder(bytes.NewReader(tc.in)).Next(&f)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecoderHeaderErrors(t *testing.T) {
	// A header block with an unknown value type (10) and one cut short, wrapped in valid CRCs.
	for name, hdr := range map[string][]byte{
		"unknown type": {1, 'x', 10},
		"cut string":   {1, 'x', 7, 0, 9, 'a'},
		"empty name":   {0, 7, 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			frame := rawFrame(hdr, []byte("{}"))
			var f Frame
			if err := NewDecoder(bytes.NewReader(frame)).Next(&f); !errors.Is(err, ErrFrame) {
				t.Fatalf("err = %v, want ErrFrame", err)
			}
		})
	}
	// Every value type is skipped correctly.
	hdr := []byte{
		1, 'a', 0, 1, 'b', 1, 1, 'c', 2, 7, 1, 'd', 3, 0, 1, 1, 'e', 4, 0, 0, 0, 1,
		1, 'f', 5, 0, 0, 0, 0, 0, 0, 0, 1, 1, 'g', 6, 0, 2, 9, 9, 1, 'h', 8, 0, 0, 0, 0, 0, 0, 0, 1,
		1, 'i', 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	}
	hdr = append(hdr, 11)
	hdr = append(hdr, ":event-type"...)
	hdr = append(hdr, 7, 0, 3, 'a', 'b', 'c')
	var f Frame
	if err := NewDecoder(bytes.NewReader(rawFrame(hdr, nil))).Next(&f); err != nil || f.EventType != "abc" {
		t.Fatalf("err = %v, frame = %+v", err, f)
	}
}

// rawFrame wraps an already encoded header block and a payload with a valid prelude and CRCs.
func rawFrame(headers, payload []byte) []byte {
	b := proxytest.EventStreamFrame(nil, append(append([]byte(nil), headers...), payload...))
	binary.BigEndian.PutUint32(b[4:8], uint32(len(headers)))
	return refreshCRCs(b)
}

// refreshCRCs recomputes both checksums after a test edited a frame.
func refreshCRCs(b []byte) []byte {
	binary.BigEndian.PutUint32(b[8:12], crc32.ChecksumIEEE(b[:8]))
	binary.BigEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
	return b
}
