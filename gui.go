package main

import (
	"fmt"

	"github.com/cliproxy/cliproxy/app"
)

// runGUI starts the tray app. It is kept beside main so that only the binary links the Fyne driver.
func runGUI(args []string, env app.Env) int {
	if !app.HasDisplay(env) {
		fmt.Fprintln(env.Stderr, "cliproxy: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so the tray app cannot start.")
		fmt.Fprintln(env.Stderr, "Run the proxy headless instead:  cliproxy serve [--config FILE]")
		return 1
	}
	fmt.Fprintln(env.Stderr, "cliproxy: the desktop UI is not built into this binary yet; use `cliproxy serve`.")
	return 1
}
