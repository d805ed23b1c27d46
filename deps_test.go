package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection enforces the import rules of DESIGN.md section 1: the proxy core stays headless
// and builds without the desktop stack, and only ui talks to Fyne.
func TestDependencyDirection(t *testing.T) {
	const module = "github.com/cliproxy/cliproxy"
	rules := []struct {
		pkgs      string
		forbidden []string
	}{
		{"./proxycore/...", []string{"fyne.io/", module + "/app", module + "/ui", module + "/keystore", "github.com/zalando/go-keyring"}},
		{"./app/...", []string{"fyne.io/", module + "/ui", module + "/desktop"}},
		{"./ui/...", []string{module + "/app", module + "/desktop", module + "/proxycore", module + "/keystore"}},
		{"./keystore/...", []string{"fyne.io/", module + "/app", module + "/ui", module + "/proxycore"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", r.pkgs).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", r.pkgs, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, bad := range r.forbidden {
				if dep == bad || strings.HasPrefix(dep, bad+"/") || (strings.HasSuffix(bad, "/") && strings.HasPrefix(dep, bad)) {
					t.Errorf("%s must not depend on %s (found %s)", r.pkgs, bad, dep)
				}
			}
		}
	}
}

// TestProxyCoreBuildsWithoutCgo keeps `cliproxy serve`'s engine portable: proxycore must build with CGO_ENABLED=0.
func TestProxyCoreBuildsWithoutCgo(t *testing.T) {
	cmd := exec.Command("go", "build", "./proxycore/...")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./proxycore/...: %v\n%s", err, out)
	}
}
