// Command cliproxy is CLIProxy Desktop: a tray app with an embedded LLM API proxy, and the same proxy
// headless with `cliproxy serve`. See README.md.
package main

import (
	"os"

	"github.com/cliproxy/cliproxy/app"
)

func main() {
	args := os.Args[1:]
	env := app.Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Getenv: os.Getenv}
	if app.IsGUI(args) {
		os.Exit(runGUI(args, env))
	}
	os.Exit(app.RunCommand(args, env))
}
