package store

import "path/filepath"

// DefaultPath returns <user data dir>/cliproxy/cliproxy.db, where the user data directory is the
// platform's conventional place for application data (see dataDir in the per-platform files). It falls
// back to a relative "cliproxy.db" only when no home directory can be found.
func DefaultPath() string {
	dir, err := dataDir()
	if err != nil || dir == "" {
		return "cliproxy.db"
	}
	return filepath.Join(dir, "cliproxy", "cliproxy.db")
}
