package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

type ev struct{ event, data string }

func readAll(t *testing.T, r *Reader) ([]ev, error) {
	t.Helper()
	var out []ev
	for {
		e, d, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev{string(e), string(d)})
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []ev
		wantErr error
	}{
		{"lf", "data: a\n\ndata: b\n\n", []ev{{"", "a"}, {"", "b"}}, nil},
		{"crlf", "data: a\r\n\r\nevent: x\r\ndata: b\r\n\r\n", []ev{{"", "a"}, {"x", "b"}}, nil},
		{"multiline", "data: a\ndata: b\ndata:c\n\n", []ev{{"", "a\nb\nc"}}, nil},
		{"comments and ids", ": ping\nid: 7\nretry: 10\nevent: e\ndata: {}\n\n", []ev{{"e", "{}"}}, nil},
		{"event without data is skipped", "event: ping\n\ndata: x\n\n", []ev{{"", "x"}}, nil},
		{"no space after colon", "event:m\ndata:{\"a\":1}\n\n", []ev{{"m", `{"a":1}`}}, nil},
		{"final event without blank line", "data: a\n\ndata: [DONE]\n", []ev{{"", "a"}, {"", "[DONE]"}}, nil},
		{"cut mid line", "data: a\n\ndata: {\"x", []ev{{"", "a"}}, io.ErrUnexpectedEOF},
		{"empty data value", "data:\n\n", []ev{{"", ""}}, nil},
		{"event name resets per event", "event: a\ndata: 1\n\ndata: 2\n\n", []ev{{"a", "1"}, {"", "2"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, NewReader(strings.NewReader(tt.in)))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestReaderLongLinesAndLimit(t *testing.T) {
	big := strings.Repeat("x", 100<<10) // longer than the bufio buffer
	got, err := readAll(t, NewReader(strings.NewReader("data: "+big+"\n\n")))
	if err != nil || len(got) != 1 || got[0].data != big {
		t.Fatalf("long line: err=%v len=%d", err, len(got))
	}
	_, err = readAll(t, NewReaderSize(strings.NewReader("data: "+big+"\n\n"), 1024))
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("err = %v, want ErrEventTooLarge", err)
	}
	_, err = readAll(t, NewReaderSize(strings.NewReader("data: 12345\ndata: 12345\n\n"), 8))
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("multi-line over limit: err = %v", err)
	}
}

func TestAppendEventRoundTrip(t *testing.T) {
	tests := []struct{ event, data string }{
		{"", `{"a":1}`}, {"message_start", "x"}, {"e", "line1\nline2"}, {"", ""},
	}
	var buf []byte
	for _, tt := range tests {
		buf = AppendEvent(buf, tt.event, []byte(tt.data))
	}
	got, err := readAll(t, NewReader(bytes.NewReader(buf)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(tests) {
		t.Fatalf("got %d events, want %d: %q", len(got), len(tests), buf)
	}
	for i, tt := range tests {
		if got[i].event != tt.event || got[i].data != tt.data {
			t.Errorf("event %d = %q, want %q", i, got[i], tt)
		}
	}
	if string(AppendData(nil, []byte("[DONE]"))) != "data: [DONE]\n\n" {
		t.Error("AppendData framing")
	}
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{"data: a\n\n", "event: x\r\ndata: {}\r\n\r\n", ": c\ndata:\n\n", "data: a", "\n\n\n", "data: a\ndata: b\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReaderSize(bytes.NewReader(in), 1<<10)
		for i := 0; i < len(in)+2; i++ {
			_, d, err := r.Next()
			if err != nil {
				return
			}
			if len(d) > 1<<10 {
				t.Fatalf("data of %d bytes exceeds limit", len(d))
			}
		}
		t.Fatal("reader did not terminate")
	})
}

func BenchmarkReader(b *testing.B) {
	var buf []byte
	for i := 0; i < 100; i++ {
		buf = AppendEvent(buf, "content_block_delta", []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello world"}}`))
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		r := NewReader(bytes.NewReader(buf))
		for {
			if _, _, err := r.Next(); err != nil {
				break
			}
		}
	}
}
