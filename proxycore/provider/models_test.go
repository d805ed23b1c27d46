package provider

import (
	"context"
	"net/http"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

type listed struct{ models []string }

func (listed) CredentialID() string                              { return "x" }
func (listed) Provider() string                                  { return "kiro" }
func (listed) Format() llm.Format                                { return llm.FormatClaude }
func (listed) Supports(Op) bool                                  { return true }
func (listed) Do(context.Context, *Call) (*http.Response, error) { return nil, nil }
func (l listed) DefaultModels() []string                         { return l.models }

func TestModelsOfPrefersTheExecutorsOwnList(t *testing.T) {
	if got := ModelsOf(listed{models: []string{"claude-opus-4-5"}}); len(got) != 1 || got[0] != "claude-opus-4-5" {
		t.Errorf("ModelsOf = %v, want the executor's list", got)
	}
	if got := ModelsOf(listed{}); len(got) != len(kiroModels) {
		t.Errorf("ModelsOf without a list = %v, want the built-in kiro list", got)
	}
}
