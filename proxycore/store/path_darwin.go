package store

import (
	"os"
	"path/filepath"
)

// dataDir is ~/Library/Application Support, where macOS applications keep their data.
func dataDir() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "Library", "Application Support"), nil
}
