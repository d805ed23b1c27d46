package cache

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestKeyCanonicalEquality(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"key order and whitespace", `{"a":1,"b":2}`, ` { "b" : 2,
			"a":1 } `, true},
		{"nested objects", `{"m":[{"role":"user","content":"hi"}],"model":"x"}`, `{"model":"x","m":[{"content":"hi","role":"user"}]}`, true},
		{"string escapes", `{"s":"A\u00e9\/"}`, `{"s":"Aé/"}`, true},
		{"array order matters", `{"a":[1,2]}`, `{"a":[2,1]}`, false},
		{"numbers kept textually", `{"t":1}`, `{"t":1.0}`, false},
		{"big numbers exact", `{"n":12345678901234567890}`, `{"n":12345678901234567891}`, false},
		{"values differ", `{"a":"x"}`, `{"a":"y"}`, false},
		{"null vs missing", `{"a":null}`, `{}`, false},
		{"bool", `{"a":true}`, `{"a":false}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ka, err := Key("p", "/v1/chat/completions", []byte(tc.a))
			if err != nil {
				t.Fatalf("Key(a): %v", err)
			}
			kb, err := Key("p", "/v1/chat/completions", []byte(tc.b))
			if err != nil {
				t.Fatalf("Key(b): %v", err)
			}
			if (ka == kb) != tc.same {
				t.Fatalf("keys equal = %v, want %v", ka == kb, tc.same)
			}
			if len(ka) != 64 {
				t.Fatalf("key %q is not hex sha256", ka)
			}
		})
	}
}

func TestKeySeparatesPrincipalAndPath(t *testing.T) {
	body := []byte(`{"model":"m"}`)
	k := func(p, path string) string {
		s, err := Key(p, path, body)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if k("alice", "/v1/messages") == k("bob", "/v1/messages") {
		t.Fatal("different principals share a key")
	}
	if k("alice", "/v1/messages") == k("alice", "/v1/chat/completions") {
		t.Fatal("different paths share a key")
	}
	if k("ab", "c") == k("a", "bc") {
		t.Fatal("principal/path boundary is ambiguous")
	}
}

func TestKeyRejectsNonJSON(t *testing.T) {
	for _, body := range []string{``, `{`, `{"a":1} {"b":2}`, `nope`, `{"a":1}x`} {
		if _, err := Key("p", "/", []byte(body)); err == nil {
			t.Errorf("Key(%q) accepted invalid JSON", body)
		}
	}
}

func TestCanonicalizeOutput(t *testing.T) {
	got, err := Canonicalize([]byte(` {"z": [1, 2.50, "a\"b\n"], "a": {"y": null, "x": true}} `))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":{"x":true,"y":null},"z":[1,2.50,"a\"b\n"]}`
	if string(got) != want {
		t.Fatalf("Canonicalize = %s, want %s", got, want)
	}
}

func TestCacheable(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{`{"model":"m","messages":[]}`, true},
		{`{"model":"m","stream":false}`, true},
		{`{"model":"m","stream":true}`, false},
		{`{"model":"m","stream": true }`, false},
		{`{"model":"m","stream":"true"}`, true}, // not a stream request; the upstream rejects it
		{`[1,2]`, false},
		{`not json`, false},
	}
	for _, tc := range tests {
		if got := Cacheable([]byte(tc.body)); got != tc.want {
			t.Errorf("Cacheable(%s) = %v, want %v", tc.body, got, tc.want)
		}
	}
}

func TestCacheableResponse(t *testing.T) {
	tests := []struct {
		status int
		ct     string
		want   bool
	}{
		{200, "application/json", true},
		{200, "application/json; charset=utf-8", true},
		{201, "application/problem+json", true},
		{200, "text/event-stream", false},
		{200, "", false},
		{400, "application/json", false},
		{429, "application/json", false},
		{500, "application/json", false},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.ct != "" {
			h.Set("Content-Type", tc.ct)
		}
		if got := CacheableResponse(tc.status, h); got != tc.want {
			t.Errorf("CacheableResponse(%d, %q) = %v, want %v", tc.status, tc.ct, got, tc.want)
		}
	}
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[true,null,"x"]}`, `"\u00e9"`, `[1e10,-0.5]`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c1, err := Canonicalize(body)
		if err != nil {
			return
		}
		if !json.Valid(c1) {
			t.Fatalf("canonical form of %q is not valid JSON: %q", body, c1)
		}
		c2, err := Canonicalize(c1)
		if err != nil || string(c1) != string(c2) {
			t.Fatalf("not idempotent: %q -> %q (%v)", c1, c2, err)
		}
	})
}

func make1KBody() []byte {
	var sb strings.Builder
	sb.WriteString(`{"model":"claude-sonnet-4-5","max_tokens":1024,"temperature":0.7,"messages":[`)
	for i := 0; sb.Len() < 950; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"role":"user","content":"Explain the difference between a mutex and a channel."}`)
	}
	sb.WriteString(`],"stream":false}`)
	return []byte(sb.String())
}

func BenchmarkKey(b *testing.B) {
	body := make1KBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Key("vk_123", "/v1/messages", body); err != nil {
			b.Fatal(err)
		}
	}
}

// stdReencode is the reference canonical form built with encoding/json: decode into a tree (numbers
// kept textually), re-encode with sorted keys.
func stdReencode(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// FuzzCanonicalizeMatchesEncodingJSON checks the hand-written scanner against encoding/json: it
// accepts exactly the valid documents, preserves their meaning, and maps a document and its
// encoding/json re-encoding (other key order, other escaping) to the same bytes.
func FuzzCanonicalizeMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"b":1,"a":{"d":[1,2,{"z":null,"y":true}],"c":"\u00e9\ud83d\ude00\n"}}`,
		`{"a":1,"a":2}`, `{"<":"&","\"":"\\"}`, `"\ud800"`, `"\ud800\u0041"`, "\"\xff\"",
		`-0.5e+10`, `01`, `[1,]`, `{"a" 1}`, `[]`, `{}`, ` null `, `"\u001f\b\f"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := Canonicalize(body)
		if valid := json.Valid(body); (err == nil) != valid {
			t.Fatalf("Canonicalize(%q) err = %v, json.Valid = %v", body, err, valid)
		}
		if err != nil {
			return
		}
		ref, err := stdReencode(body)
		if err != nil {
			t.Fatalf("encoding/json could not decode valid %q: %v", body, err)
		}
		decode := func(b []byte) any {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%q is not JSON: %v", b, err)
			}
			return v
		}
		a, b := decode(got), decode(ref)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("meaning changed: %q -> %q, want %q", body, got, ref)
		}
		fromRef, err := Canonicalize(ref)
		if err != nil || !bytes.Equal(fromRef, got) {
			t.Fatalf("same document, different canonical forms: %q vs %q (%v)", got, fromRef, err)
		}
		again, err := Canonicalize(got)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("not idempotent: %q -> %q (%v)", got, again, err)
		}
	})
}

// BenchmarkCanonicalizeReference measures the encoding/json tree round trip that Canonicalize
// replaces, for comparison with BenchmarkKey.
func BenchmarkCanonicalizeReference(b *testing.B) {
	body := make1KBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := stdReencode(body); err != nil {
			b.Fatal(err)
		}
	}
}

// TestKeyIsStable pins one key: keys live in Redis across restarts and upgrades, so the way they are
// computed must not change by accident.
func TestKeyIsStable(t *testing.T) {
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"h\u00e9llo \"x\""}],"temperature":0.2}`
	k, err := Key("vk_123", "/v1/chat/completions", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if want := "20d86498e2f0ab941707d302047302558beee4266aaa3112dd9b8e51bb7d7acb"; k != want {
		t.Fatalf("Key = %s, want %s", k, want)
	}
}

// cacheableKeyReference is what CacheableKey replaces: Cacheable, then Key.
func cacheableKeyReference(principal, path string, body []byte) (string, bool) {
	if !Cacheable(body) {
		return "", false
	}
	k, err := Key(principal, path, body)
	return k, err == nil
}

func TestCacheableKeyMatchesCacheableThenKey(t *testing.T) {
	for _, body := range []string{
		`{"model":"m","messages":[]}`, `{"model":"m","stream":false}`, `{"model":"m","stream":true}`,
		`{"model":"m","stream": true }`, `{"model":"m","stream":"true"}`, `[1,2]`, `not json`, ``, `null`, ` null `,
		`"s"`, `1`, `true`, `{"Stream":true}`, `{"STREAM":true,"model":"m"}`, `{"stream":true,"stream":false}`,
		`{"stream":false,"Stream":true}`, `{"\u0073tream":true}`, `{"ſtream":true}`, `{"a":{"stream":true}}`,
		`[{"stream":true}]`, `{"stream":true} x`, `{"stream":tru}`, `{"streams":true}`, `{"stream":null}`,
		`{"stream":1}`, `{"model":"m","stream":true,"x":[1,{"stream":false}]}`,
	} {
		gotKey, gotOK := CacheableKey("p", "/v1/chat/completions", []byte(body))
		wantKey, wantOK := cacheableKeyReference("p", "/v1/chat/completions", []byte(body))
		if gotKey != wantKey || gotOK != wantOK {
			t.Errorf("CacheableKey(%s) = %q, %v; Cacheable then Key give %q, %v", body, gotKey, gotOK, wantKey, wantOK)
		}
	}
}

func FuzzCacheableKey(f *testing.F) {
	for _, s := range []string{`{"model":"m","stream":true}`, `{"Stream":false,"stream":true}`, `null`, `[{"stream":true}]`, `{"a":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		gotKey, gotOK := CacheableKey("p", "/x", body)
		wantKey, wantOK := cacheableKeyReference("p", "/x", body)
		if gotKey != wantKey || gotOK != wantOK {
			t.Fatalf("CacheableKey(%q) = %q, %v; Cacheable then Key give %q, %v", body, gotKey, gotOK, wantKey, wantOK)
		}
	})
}

func TestHasControl(t *testing.T) {
	for b := 0; b < 256; b++ {
		want := b < 0x20
		for pos := 0; pos < 8; pos++ {
			for _, fill := range []byte{'a', 0xe6, 0x80, 0x20} {
				w := [8]byte{fill, fill, fill, fill, fill, fill, fill, fill}
				w[pos] = byte(b)
				if got := hasControl(binary.LittleEndian.Uint64(w[:])); got != want {
					t.Fatalf("byte %#x at %d among %#x: hasControl = %v, want %v", b, pos, fill, got, want)
				}
			}
		}
	}
}

// TestCanonicalizeLongStrings covers the string scan's cached quote and backslash positions: escaped
// quotes, backslashes, non-ASCII text and control characters inside and around long runs.
func TestCanonicalizeLongStrings(t *testing.T) {
	long := strings.Repeat("abcdefgh", 40)
	for _, tc := range []struct{ in, want string }{
		{`"` + long + `"`, `"` + long + `"`},
		{`"` + long + `\"` + long + `"`, `"` + long + `\"` + long + `"`},
		{`"` + long + `\\` + long + `\u0041"`, `"` + long + `\\` + long + `A"`},
		{`"` + long + `é漢字` + long + `\"é"`, `"` + long + `é漢字` + long + `\"é"`},
		{`["` + long + `","\"` + long + `\""]`, `["` + long + `","\"` + long + `\""]`},
		{"\"" + long + "\xff" + long + "\"", "\"" + long + "\uFFFD" + long + "\""},
		{"\"" + long + "\xe6\x97\"", "\"" + long + "\uFFFD\uFFFD\""},
		{"\"\xe6\x97" + long + "\\n漢\"", "\"\uFFFD\uFFFD" + long + "\\n漢\""},
	} {
		got, err := Canonicalize([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("Canonicalize(%.40q...) = %.80q, %v; want %.80q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`"` + long + "\x01" + `"`, `"` + long, `"` + long + `\"`, `"` + long + `\`} {
		if _, err := Canonicalize([]byte(bad)); err == nil {
			t.Errorf("Canonicalize(%.40q...) accepted invalid JSON", bad)
		}
	}
}

func BenchmarkCacheableKey(b *testing.B) {
	body := make1KBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := CacheableKey("vk_123", "/v1/messages", body); !ok {
			b.Fatal("not cacheable")
		}
	}
}
