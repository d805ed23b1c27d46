package llm

import (
	"errors"
	"testing"
)

func TestErrorAndHelpers(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{BadRequest("tool %q is bad", "x"), `status 400 invalid_request_error: tool "x" is bad`},
		{&Error{Status: 529}, "status 529"},
		{StreamCut("eof"), "status 502 api_error: upstream stream ended unexpectedly: eof"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		var target *Error
		if !errors.As(error(tt.err), &target) {
			t.Error("errors.As failed")
		}
	}
	if (Usage{InputTokens: 3, OutputTokens: 4}).Total() != 7 {
		t.Error("Total")
	}
	parts := []Part{{Kind: PartText, Text: "a"}, {Kind: PartImage}, {Kind: PartText, Text: "b"}}
	if TextOf(parts) != "ab" || TextOf(parts[:1]) != "a" || TextOf(nil) != "" {
		t.Error("TextOf")
	}
}
