package acct

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/provider"
)

func TestMember(t *testing.T) {
	body := []byte(` { "a" : 1, "s":"x\"y}", "o":{"k":[1,{"a":2}]}, "n":null, "t":true } `)
	cases := []struct {
		name, want string
		ok         bool
	}{
		{"a", "1", true}, {"s", `"x\"y}"`, true}, {"o", `{"k":[1,{"a":2}]}`, true},
		{"n", "null", true}, {"t", "true", true}, {"k", "", false},
	}
	for _, tc := range cases {
		got, ok := Member(body, tc.name)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("Member(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPatch(t *testing.T) {
	cases := []struct {
		name, in string
		set      map[string][]byte
		del      []string
		want     string
	}{
		{"replace in place and append", `{"stream":false,"model":"m"}`, map[string][]byte{"stream": []byte("true"), "store": []byte("false")}, nil,
			`{"stream":true,"model":"m","store":false}`},
		{"delete", `{"a":1,"max_output_tokens":5,"b":[2]}`, nil, []string{"max_output_tokens"}, `{"a":1,"b":[2]}`},
		{"empty object", `{}`, map[string][]byte{"x": []byte(`"y"`)}, nil, `{"x":"y"}`},
		{"duplicate key kept once", `{"a":1,"a":2}`, map[string][]byte{"a": []byte("3")}, nil, `{"a":3}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Patch([]byte(tc.in), tc.set, tc.del...)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"a"}`, `{"a":1`, `{"a":"x}`, `{"a":1 "b":2}`, `"s"`} {
		if _, err := Patch([]byte(bad), nil); err == nil {
			t.Errorf("Patch(%q): want an error", bad)
		}
	}
}

// FuzzPatch checks that patching a valid object gives a valid object with the new member.
func FuzzPatch(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"s":"\"}","o":{"x":[1,2,{"y":null}]}}`, ` {"a" : [ ] , "b":{}} `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Patch([]byte(in), map[string][]byte{"stream": []byte("true")}, "max_output_tokens")
		if err != nil || !json.Valid([]byte(in)) {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(in), &m) != nil {
			return // valid JSON but not an object: Patch may still succeed on odd input
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("Patch(%s) = %s: %v", in, out, err)
		}
		if string(got["stream"]) != "true" {
			t.Fatalf("stream = %s in %s", got["stream"], out)
		}
		if _, ok := got["max_output_tokens"]; ok {
			t.Fatalf("max_output_tokens kept in %s", out)
		}
	})
}

func TestNewBaseValidates(t *testing.T) {
	ok := provider.AccountOptions{ID: "x", Tokens: tokenFunc(nil), Client: &http.Client{}}
	if b, err := NewBase("p", ok, "https://api.example.com/"); err != nil || b.BaseURL != "https://api.example.com" || b.Provider() != "p" {
		t.Fatalf("NewBase: %+v %v", b, err)
	}
	bad := ok
	bad.Settings = map[string]string{"base-url": "ftp://x"}
	if _, err := NewBase("p", bad, "https://a"); err == nil || !strings.Contains(err.Error(), "providers.p.base-url") {
		t.Errorf("want an error naming the key, got %v", err)
	}
}

func TestScrub(t *testing.T) {
	base := errors.New("proxy said: Bearer secret-token-12345 is bad")
	err := scrub(base, "secret-token-12345")
	if strings.Contains(err.Error(), "secret-token-12345") || !errors.Is(err, base) {
		t.Errorf("scrub: %v", err)
	}
	if scrub(base, "other") != base {
		t.Error("scrub changed an error without the token")
	}
}
