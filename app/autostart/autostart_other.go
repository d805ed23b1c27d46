//go:build !linux && !darwin && !windows

package autostart

// Enable returns ErrUnsupported on this platform.
func Enable(name, execPath string, args []string) error {
	if err := validate(name, execPath); err != nil {
		return err
	}
	return ErrUnsupported
}

// Disable returns ErrUnsupported on this platform.
func Disable(name string) error { return ErrUnsupported }

// Enabled returns ErrUnsupported on this platform.
func Enabled(name string) (bool, error) { return false, ErrUnsupported }
