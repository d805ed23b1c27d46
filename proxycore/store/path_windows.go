package store

import (
	"errors"
	"os"
)

// dataDir is %LOCALAPPDATA%: the database is machine-local and must not roam between PCs.
func dataDir() (string, error) {
	if d := os.Getenv("LOCALAPPDATA"); d != "" {
		return d, nil
	}
	return "", errors.New("LOCALAPPDATA is not set")
}
