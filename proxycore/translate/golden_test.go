package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/clock"
	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/sse"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

var dirFormats = map[string]llm.Format{
	"chat": llm.FormatOpenAIChat, "claude": llm.FormatClaude, "gemini": llm.FormatGemini,
	"responses": llm.FormatResponses, "completions": llm.FormatOpenAICompletions,
}

func testRegistry() *Registry {
	return New(WithClock(clock.NewFake(time.Unix(1767225600, 0))), WithIDGenerator(SequentialIDs()))
}

// pumpStream runs an upstream SSE body through dec and enc the way the server does.
func pumpStream(t testing.TB, dec StreamDecoder, enc StreamEncoder, body []byte) []byte {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(body))
	var out []byte
	var evs []llm.Event
	for {
		name, data, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return enc.Fail(out, llm.StreamCut(err.Error()))
		}
		evs, err = dec.Decode(evs[:0], string(name), data)
		for i := range evs {
			out = enc.Encode(out, &evs[i])
		}
		if err != nil {
			var le *llm.Error
			if !errors.As(err, &le) {
				le = &llm.Error{Status: 502, Type: "api_error", Message: err.Error()}
			}
			return enc.Fail(out, le)
		}
	}
	evs, err := dec.End(evs[:0])
	for i := range evs {
		out = enc.Encode(out, &evs[i])
	}
	if err != nil {
		var le *llm.Error
		errors.As(err, &le)
		return enc.Fail(out, le)
	}
	return enc.Finish(out)
}

// TestGolden walks testdata/<client>-<upstream>/<case>/ and checks every translation whose input exists:
// client_request.json -> upstream_request.golden.json, upstream_response.json ->
// client_response.golden.json, upstream_stream.sse -> client_stream.golden.sse.
func TestGolden(t *testing.T) {
	pairs, err := filepath.Glob("testdata/*-*")
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) == 0 {
		t.Fatal("no golden pairs")
	}
	for _, pair := range pairs {
		client, upstream, _ := strings.Cut(filepath.Base(pair), "-")
		cf, uf := dirFormats[client], dirFormats[upstream]
		if cf == "" || uf == "" {
			t.Fatalf("bad pair dir %s", pair)
		}
		cases, _ := filepath.Glob(filepath.Join(pair, "*"))
		for _, dir := range cases {
			t.Run(filepath.Base(pair)+"/"+filepath.Base(dir), func(t *testing.T) {
				reg := testRegistry()
				cc, uc := reg.Codec(cf), reg.Codec(uf)
				var clientReq *llm.Request
				if in, ok := readFile(t, dir, "client_request.json"); ok {
					req, err := cc.DecodeRequest(in)
					if err != nil {
						t.Fatalf("decode client request: %v", err)
					}
					clientReq = req
					if req.Model == "" { // Gemini carries the model in the URL; the server fills it in
						req.Model = "gemini-url-model"
					}
					ApplyModelSuffix(req)
					out, err := uc.EncodeRequest(req)
					if err != nil {
						checkGolden(t, dir, "upstream_request.golden.json", []byte(`{"error":`+string(mustMarshal(err.Error()))+`}`), true)
					} else {
						checkGolden(t, dir, "upstream_request.golden.json", out, true)
					}
				}
				if clientReq == nil {
					clientReq = &llm.Request{Model: "client-model"}
				}
				if in, ok := readFile(t, dir, "upstream_response.json"); ok {
					resp, err := uc.DecodeResponse(in)
					if err != nil {
						t.Fatalf("decode upstream response: %v", err)
					}
					resp.Model = clientReq.Model
					out, err := cc.EncodeResponse(resp)
					if err != nil {
						t.Fatalf("encode client response: %v", err)
					}
					checkGolden(t, dir, "client_response.golden.json", out, true)
				}
				if in, ok := readFile(t, dir, "upstream_stream.sse"); ok {
					out := pumpStream(t, uc.NewStreamDecoder(), cc.NewStreamEncoder(clientReq), in)
					checkGolden(t, dir, "client_stream.golden.sse", out, false)
				}
			})
		}
	}
}

func readFile(t *testing.T, dir, name string) ([]byte, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if os.IsNotExist(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

func checkGolden(t *testing.T, dir, name string, got []byte, isJSON bool) {
	t.Helper()
	path := filepath.Join(dir, name)
	if *update {
		if isJSON {
			var v any
			if err := json.Unmarshal(got, &v); err != nil {
				t.Fatalf("%s: output is not JSON: %v\n%s", name, err, got)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			_ = enc.Encode(v)
			got = buf.Bytes()
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("missing golden %s (run go test -update): %v", path, err)
	}
	if isJSON {
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: output is not JSON: %v\n%s", name, err, got)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatalf("%s: golden is not JSON: %v", path, err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s mismatch\n got: %s\nwant: %s", path, got, want)
		}
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s mismatch\n got:\n%s\nwant:\n%s", path, got, want)
	}
}
