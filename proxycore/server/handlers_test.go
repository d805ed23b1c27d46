package server

import (
	"bytes"
	"testing"
)

func TestMentionsClientSideEndpoint(t *testing.T) {
	for _, body := range []string{
		``, `{}`, `{"api_base":1}`, `{"base_url":1}`, `{"x":"api_base"}`, `{"x":"\"api_base\""}`, `"base_url"`,
		`{"max_tokens":1,"base_urls":2}`, `{"_api_base":1}`, `api_base`, `{"a":"_","b":"x_y","base_url":""}`, `_"base_url"_`,
	} {
		want := bytes.Contains([]byte(body), apiBaseKey) || bytes.Contains([]byte(body), baseURLKey)
		if got := mentionsClientSideEndpoint([]byte(body)); got != want {
			t.Errorf("mentionsClientSideEndpoint(%s) = %v, want %v", body, got, want)
		}
	}
}
