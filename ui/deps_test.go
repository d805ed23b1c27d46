package ui

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps ui testable and layered: no Fyne driver (that belongs in main, so tests run without
// GL or a display) and no proxy engine (ui sees the program only through Backend).
func TestImports(t *testing.T) {
	t.Parallel() // runs go list in a child process; shares nothing with the Fyne tests
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "fyne.io/fyne/v2/app":
			t.Errorf("ui imports %s; keep the driver in main so ui tests need no display", dep)
		case strings.HasPrefix(dep, "github.com/cliproxy/cliproxy/proxycore"),
			strings.HasPrefix(dep, "github.com/cliproxy/cliproxy/keystore"),
			dep == "github.com/cliproxy/cliproxy/app":
			t.Errorf("ui imports %s; talk to the program through Backend", dep)
		}
	}
}
