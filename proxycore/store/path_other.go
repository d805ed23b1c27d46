//go:build !linux && !darwin && !windows

package store

import (
	"os"
	"path/filepath"
)

// dataDir uses the XDG convention on the remaining Unix-like systems (BSDs and others).
func dataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share"), nil
}
