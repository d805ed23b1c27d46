package store

import (
	"path/filepath"
	"testing"
)

func TestDefaultPathLinux(t *testing.T) {
	tests := []struct {
		name, xdg, home, want string
	}{
		{"xdg set", "/x/data", "/home/u", "/x/data/cliproxy/cliproxy.db"},
		{"xdg unset", "", "/home/u", "/home/u/.local/share/cliproxy/cliproxy.db"},
		{"xdg relative is ignored", "rel", "/home/u", "/home/u/.local/share/cliproxy/cliproxy.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_DATA_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			if got := DefaultPath(); got != filepath.FromSlash(tt.want) {
				t.Fatalf("DefaultPath() = %q, want %q", got, tt.want)
			}
		})
	}
}
