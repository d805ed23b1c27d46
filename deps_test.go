package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
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

// TestHeadlessBuild keeps the server build (`make build-headless`, build tag headless) what docs/development.md
// promises: it links neither Fyne nor the dashboard, builds with CGO_ENABLED=0, and without a command says
// that it has no tray app and how to run the proxy.
func TestHeadlessBuild(t *testing.T) {
	const module = "github.com/cliproxy/cliproxy"
	out, err := exec.Command("go", "list", "-deps", "-tags", "headless", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps -tags headless .: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"fyne.io/", "github.com/go-gl/", module + "/ui", module + "/desktop"} {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("the headless build must not link %s (found %s)", bad, dep)
			}
		}
	}

	// Without the symbol table and DWARF (-s -w) the link takes about 3 s here instead of about 20.
	bin := filepath.Join(t.TempDir(), "cliproxy-headless")
	build := exec.Command("go", "build", "-tags", "headless", "-ldflags=-s -w", "-o", bin, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build -tags headless: %v\n%s", err, out)
	}
	var stderr bytes.Buffer
	run := exec.Command(bin)
	run.Stderr = &stderr
	err = run.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("cliproxy-headless without a command: %v, want exit status 1", err)
	}
	if msg := stderr.String(); !strings.Contains(msg, "headless build") || !strings.Contains(msg, "cliproxy serve") {
		t.Errorf("cliproxy-headless without a command says %q, want that it is the headless build and how to run serve", msg)
	}
}
