package autostart

import (
	"fmt"
	"os"
	"path/filepath"
)

// entryPath is ~/Library/LaunchAgents/<label>.plist, where launchd loads per-user agents at login.
func entryPath(name string) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("autostart: locating home dir: %w", err)
	}
	return filepath.Join(home, "Library", "LaunchAgents", LaunchAgentPrefix+name+".plist"), nil
}

// Enable writes a LaunchAgent that runs execPath with args at login.
func Enable(name, execPath string, args []string) error {
	if err := validate(name, execPath); err != nil {
		return err
	}
	path, err := entryPath(name)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(launchAgentPlist(LaunchAgentPrefix+name, execPath, args)), 0o644)
}

// Disable removes the LaunchAgent; it succeeds when there is none.
func Disable(name string) error {
	path, err := entryPath(name)
	if err != nil {
		return err
	}
	return removeFile(path)
}

// Enabled reports whether the LaunchAgent exists.
func Enabled(name string) (bool, error) {
	path, err := entryPath(name)
	if err != nil {
		return false, err
	}
	return fileExists(path)
}
