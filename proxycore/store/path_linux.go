package store

import (
	"os"
	"path/filepath"
)

// dataDir follows the XDG base directory spec: $XDG_DATA_HOME, else ~/.local/share.
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
