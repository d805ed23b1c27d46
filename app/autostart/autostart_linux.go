package autostart

import (
	"fmt"
	"os"
	"path/filepath"
)

// entryPath is $XDG_CONFIG_HOME/autostart/<name>.desktop (os.UserConfigDir honours XDG_CONFIG_HOME and
// falls back to ~/.config), per the XDG Autostart specification.
func entryPath(name string) (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("autostart: locating config dir: %w", err)
	}
	return filepath.Join(dir, "autostart", name+".desktop"), nil
}

// Enable writes an XDG autostart entry that runs execPath with args at login.
func Enable(name, execPath string, args []string) error {
	if err := validate(name, execPath); err != nil {
		return err
	}
	path, err := entryPath(name)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(desktopEntry(name, execPath, args)), 0o644)
}

// Disable removes the autostart entry; it succeeds when there is none.
func Disable(name string) error {
	path, err := entryPath(name)
	if err != nil {
		return err
	}
	return removeFile(path)
}

// Enabled reports whether the autostart entry exists.
func Enabled(name string) (bool, error) {
	path, err := entryPath(name)
	if err != nil {
		return false, err
	}
	return fileExists(path)
}
