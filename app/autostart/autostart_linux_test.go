package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLinuxEnableDisable(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	path := filepath.Join(dir, "autostart", "cliproxy.desktop")

	on, err := Enabled("cliproxy")
	if err != nil || on {
		t.Fatalf("Enabled before Enable = %v, %v; want false, nil", on, err)
	}
	if err := Disable("cliproxy"); err != nil {
		t.Fatalf("Disable without an entry: %v", err)
	}
	if err := Enable("cliproxy", "/usr/bin/cliproxy", []string{"--minimized"}); err != nil {
		t.Fatalf("Enable: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading entry: %v", err)
	}
	if !strings.Contains(string(data), "Exec=/usr/bin/cliproxy --minimized\n") {
		t.Errorf("entry has wrong Exec:\n%s", data)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("entry mode = %v, want 0644", fi.Mode().Perm())
	}
	if on, err := Enabled("cliproxy"); err != nil || !on {
		t.Fatalf("Enabled after Enable = %v, %v; want true, nil", on, err)
	}
	// Enabling twice replaces the entry instead of failing.
	if err := Enable("cliproxy", "/opt/cliproxy", nil); err != nil {
		t.Fatalf("second Enable: %v", err)
	}
	data, _ = os.ReadFile(path)
	if !strings.Contains(string(data), "Exec=/opt/cliproxy\n") {
		t.Errorf("entry not replaced:\n%s", data)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("autostart dir has %d files, want 1 (temporary files left behind?)", len(entries))
	}
	if err := Disable("cliproxy"); err != nil {
		t.Fatalf("Disable: %v", err)
	}
	if on, err := Enabled("cliproxy"); err != nil || on {
		t.Fatalf("Enabled after Disable = %v, %v; want false, nil", on, err)
	}
}

func TestLinuxEnableRejectsBadInput(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if err := Enable("a/b", "/bin/x", nil); err == nil {
		t.Error("Enable accepted a name with a slash")
	}
	if err := Enable("cliproxy", "", nil); err == nil {
		t.Error("Enable accepted an empty executable path")
	}
}
