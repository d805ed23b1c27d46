package translate

import (
	"encoding/json"
	"testing"
)

func TestRawString(t *testing.T) {
	for _, s := range []string{"", "plain", "a\"b\\c/d", "nl\n\r\t\b\f", "é ✓ 😀", "\u2028", "\x01"} {
		enc, _ := json.Marshal(s)
		var scratch []byte
		got, ok := rawString(enc, &scratch)
		if !ok || got != s {
			t.Errorf("rawString(%s) = %q, %v; want %q", enc, got, ok, s)
		}
	}
	var scratch []byte
	if got, ok := rawString([]byte(`"\ud83d\ude00 \u00e9"`), &scratch); !ok || got != "😀 é" {
		t.Errorf("surrogates: %q %v", got, ok)
	}
	for _, bad := range []string{`5`, `"\x"`, `"\u12"`, `"abc`} {
		if _, ok := rawString([]byte(bad), &scratch); ok {
			t.Errorf("rawString(%s) accepted", bad)
		}
	}
}

func TestObjGet(t *testing.T) {
	b := []byte(` {"a": {"x":[1,{"y":"}"}]}, "b" : "s\"}", "c":null, "d":[ 3 , 4 ]} `)
	tests := map[string]string{"a": `{"x":[1,{"y":"}"}]}`, "b": `"s\"}"`, "c": "null", "d": "[ 3 , 4 ]", "z": ""}
	for k, want := range tests {
		if got := string(objGet(b, k)); got != want {
			t.Errorf("objGet(%q) = %q, want %q", k, got, want)
		}
	}
	if got := string(arrayFirst(objGet(b, "d"))); got != "3" {
		t.Errorf("arrayFirst = %q", got)
	}
	if arrayFirst([]byte(`[]`)) != nil {
		t.Error("arrayFirst of empty array")
	}
}
