package translate

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/sse"
)

// slowDecoder returns a decoder of format f with its reflection-free fast path disabled.
func slowDecoder(reg *Registry, f llm.Format) StreamDecoder {
	d := reg.Codec(f).NewStreamDecoder()
	switch x := d.(type) {
	case *chatStreamDecoder:
		x.slowOnly = true
	case *claudeStreamDecoder:
		x.slowOnly = true
	case *geminiStreamDecoder:
		x.slowOnly = true
	case *responsesStreamDecoder:
		x.slowOnly = true
	}
	return d
}

// decodeAll runs body through dec and returns every event and the final error text.
func decodeAll(dec StreamDecoder, body []byte) ([]llm.Event, string) {
	r := sse.NewReader(bytes.NewReader(body))
	var evs []llm.Event
	for {
		name, data, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return evs, "sse: " + err.Error()
		}
		if evs, err = dec.Decode(evs, string(name), data); err != nil {
			return evs, err.Error()
		}
	}
	evs, err := dec.End(evs)
	if err != nil {
		return evs, err.Error()
	}
	return evs, ""
}

// checkFastMatchesSlow asserts that the fast path yields exactly the events of the full decoder.
func checkFastMatchesSlow(t *testing.T, f llm.Format, body []byte) {
	t.Helper()
	fastEvs, fastErr := decodeAll(testRegistry().Codec(f).NewStreamDecoder(), body)
	slowEvs, slowErr := decodeAll(slowDecoder(testRegistry(), f), body)
	if fastErr != slowErr || !reflect.DeepEqual(fastEvs, slowEvs) {
		t.Fatalf("%s: fast path differs from full decoder\nfast: %+v %q\nslow: %+v %q", f, fastEvs, fastErr, slowEvs, slowErr)
	}
}

func TestFastPathMatchesFullDecoder(t *testing.T) {
	files, _ := filepath.Glob("testdata/*-*/*/upstream_stream.sse")
	cases := map[string]struct {
		f    llm.Format
		body []byte
	}{
		"claude": {llm.FormatClaude, claudeTextStream(5)}, "chat": {llm.FormatOpenAIChat, chatTextStream(5)},
		"gemini": {llm.FormatGemini, geminiTextStream(5)}, "responses": {llm.FormatResponses, responsesTextStream(5)},
	}
	for _, p := range files {
		pair := filepath.Base(filepath.Dir(filepath.Dir(p)))
		_, up, _ := cutDash(pair)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cases[p] = struct {
			f    llm.Format
			body []byte
		}{dirFormats[up], b}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) { checkFastMatchesSlow(t, c.f, c.body) })
	}
}

func cutDash(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func fuzzFastPath(f *testing.F, format llm.Format, seeds ...[]byte) {
	addSeeds(f, "upstream_stream.sse")
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkFastMatchesSlow(t, format, body) })
}

func FuzzFastPathChat(f *testing.F)   { fuzzFastPath(f, llm.FormatOpenAIChat, chatTextStream(2)) }
func FuzzFastPathClaude(f *testing.F) { fuzzFastPath(f, llm.FormatClaude, claudeTextStream(2)) }
func FuzzFastPathGemini(f *testing.F) { fuzzFastPath(f, llm.FormatGemini, geminiTextStream(2)) }
func FuzzFastPathResponses(f *testing.F) {
	fuzzFastPath(f, llm.FormatResponses, responsesTextStream(2))
}
