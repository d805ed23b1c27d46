package translate

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// validCases are documents at the edges of the grammar, each checked against encoding/json.Valid.
var validCases = []string{
	``, ` `, `{}`, `[]`, ` {"a" : [1, -0.5e+10, true, false, null, "x"] } `, `{"a":1,}`, `[1,]`, `{"a" 1}`,
	`{"a":1 "b":2}`, `[1 2]`, `{,}`, `[,]`, `{"a":}`, `{1:2}`, `"abc`, `"abc"x`, `"a"  "b"`, `tru`, `truex`,
	`nul`, `null`, `falsy`, `01`, `-`, `-0`, `-01`, `1.`, `1.e5`, `.5`, `1e`, `1e+`, `1E-7`, `+1`, `0x10`,
	`1.5E+07`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, `"\u12"`, `"\u12g4"`, `"\x"`, `"\'"`, `"\/\b\f\n\r\t\"\\"`,
	"\"tab\tin string\"", "\"nul\x00\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\xfe invalid utf-8\"", "\"é→😀\"",
	"\v1", "\f1", "1\n", "\u00a01", `{"a":{"b":{"c":[[[]]]}}}`, `[[[[`, `]]`, `{"a":"b"}}`, `"` + strings.Repeat(`\\`, 9) + `"`,
	`"12345678\"12345678"`, `"1234567` + "\x01" + `"`, `"` + strings.Repeat("a", 64) + `\n` + strings.Repeat("b", 63) + `"`,
	strings.Repeat("[", maxValidDepth) + strings.Repeat("]", maxValidDepth),
	strings.Repeat("[", maxValidDepth+1) + strings.Repeat("]", maxValidDepth+1),
	strings.Repeat(`{"a":`, maxValidDepth) + "1" + strings.Repeat("}", maxValidDepth),
	strings.Repeat(`{"a":`, maxValidDepth+1) + "1" + strings.Repeat("}", maxValidDepth+1),
}

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := ValidJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			name := c
			if len(name) > 60 {
				name = name[:60] + "..."
			}
			t.Errorf("ValidJSON(%q) = %v, encoding/json says %v", name, got, want)
		}
	}
	// Every prefix of a valid document but the whole is invalid, and so is every one-byte change that
	// encoding/json rejects.
	doc := []byte(`{"model":"m","messages":[{"role":"user","content":"a \"quoted\" \u00e9 word"}],"n":-1.5e3,"ok":true,"x":null}`)
	for n := range len(doc) {
		if ValidJSON(doc[:n]) != json.Valid(doc[:n]) {
			t.Errorf("prefix %q: ValidJSON and encoding/json disagree", doc[:n])
		}
		for _, c := range []byte{'"', '\\', '{', '}', '[', ']', ',', ':', ' ', 0, 'x', '1', 0xff} {
			m := append([]byte(nil), doc...)
			m[n] = c
			if ValidJSON(m) != json.Valid(m) {
				t.Errorf("%q: ValidJSON and encoding/json disagree", m)
			}
		}
	}
}

// FuzzValidJSON checks ValidJSON against encoding/json.Valid on arbitrary input.
func FuzzValidJSON(f *testing.F) {
	for _, c := range validCases {
		if len(c) < 1000 {
			f.Add([]byte(c))
		}
	}
	addSeeds(f, "client_request.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := ValidJSON(b), json.Valid(b); got != want {
			t.Fatalf("ValidJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

// codingBody is a 100 KB Messages request like a long coding session's: a system prompt and many turns
// of mostly text.
func codingBody() []byte {
	var sb strings.Builder
	sb.WriteString(`{"model":"claude-sonnet-4-5","max_tokens":8192,"system":"` + strings.Repeat("Follow the repository's conventions. ", 200) + `","messages":[`)
	for i := 0; sb.Len() < 100<<10; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"role":"user","content":[{"type":"text","text":"turn %d: %s\nwith a newline and \"quotes\""}]}`, i, strings.Repeat("code line of text; ", 40))
	}
	sb.WriteString(`],"stream":true}`)
	return []byte(sb.String())
}

func BenchmarkValidJSON(b *testing.B) {
	body := codingBody()
	for _, impl := range []struct {
		name  string
		valid func([]byte) bool
	}{{"ValidJSON", ValidJSON}, {"encoding-json", json.Valid}} {
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if !impl.valid(body) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
