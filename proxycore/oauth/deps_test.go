package oauth

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoForbiddenImports keeps the oauth package free of keychain code (DESIGN.md §1: proxycore
// never imports keystore or go-keyring; it stores through TokenStore).
func TestNoForbiddenImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/cliproxy/cliproxy/keystore", "github.com/zalando/go-keyring", "fyne.io/", "github.com/cliproxy/cliproxy/app", "github.com/cliproxy/cliproxy/ui"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("oauth depends on %s", dep)
			}
		}
	}
}
