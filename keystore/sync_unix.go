//go:build !windows

package keystore

import (
	"fmt"
	"os"
)

// syncDir flushes a directory so a rename or removal inside it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening keystore dir for sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing keystore dir: %w", err)
	}
	return nil
}
