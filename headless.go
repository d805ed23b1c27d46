//go:build headless

package main

import (
	"fmt"

	"github.com/cliproxy/cliproxy/app"
)

// runGUI stands in for the tray app in the headless build (`go build -tags headless`, `make
// build-headless`), which leaves out Fyne, the dashboard and cgo: it says how to run the proxy instead.
func runGUI(_ []string, env app.Env) int {
	fmt.Fprintln(env.Stderr, "cliproxy: this is the headless build, without the tray app.")
	fmt.Fprintln(env.Stderr, "Run the proxy with:  cliproxy serve [--config FILE]   (`cliproxy help` lists every command)")
	return 1
}
