package autostart

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/windows/registry"
)

// runKey is the per-user Run key that Windows reads at logon (no elevation needed).
const runKey = `Software\Microsoft\Windows\CurrentVersion\Run`

// commandLine quotes the executable and arguments the way CommandLineToArgvW parses them.
func commandLine(execPath string, args []string) string {
	s := `"` + execPath + `"`
	for _, a := range args {
		s += " " + syscall.EscapeArg(a)
	}
	return s
}

// Enable sets HKCU\...\Run\<name> to a command line that runs execPath with args at logon.
func Enable(name, execPath string, args []string) error {
	if err := validate(name, execPath); err != nil {
		return err
	}
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("autostart: opening Run key: %w", err)
	}
	defer k.Close()
	if err := k.SetStringValue(name, commandLine(execPath, args)); err != nil {
		return fmt.Errorf("autostart: setting Run value: %w", err)
	}
	return nil
}

// Disable deletes the Run value; it succeeds when there is none.
func Disable(name string) error {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		if errors.Is(err, registry.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("autostart: opening Run key: %w", err)
	}
	defer k.Close()
	if err := k.DeleteValue(name); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("autostart: deleting Run value: %w", err)
	}
	return nil
}

// Enabled reports whether the Run value exists.
func Enabled(name string) (bool, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if err != nil {
		if errors.Is(err, registry.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("autostart: opening Run key: %w", err)
	}
	defer k.Close()
	if _, _, err := k.GetStringValue(name); err != nil {
		if errors.Is(err, registry.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("autostart: reading Run value: %w", err)
	}
	return true, nil
}
