package app

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/config"
)

// command is one sub-command of the cliproxy binary.
type command struct {
	name    string
	summary string
	run     func(args []string, env Env) int
}

func commands() []command {
	return []command{
		{"serve", "run the proxy headless (logs to stderr; stops cleanly on SIGINT/SIGTERM)", runServe},
		{"config", "config check FILE: validate a configuration file", runConfig},
		{"login", "login PROVIDER [--no-browser]: log in to a subscription (claude-code, codex, copilot, gemini-cli, kiro, qwen)", runLogin},
		{"accounts", "accounts [list | remove|disable|enable ID | migrate --to keychain|file]: manage logged-in accounts", runAccounts},
		{"keys", "keys [list | create --name N [--budget USD ...] | revoke ID]: manage virtual keys", runKeys},
		{"import", "import cliproxyapi [DIR]: import CLIProxyAPI's auth files (default ~/.cli-proxy-api)", runImport},
		{"version", "print the version", func(_ []string, env Env) int { fmt.Fprintln(env.Stdout, "cliproxy", Version); return 0 }},
	}
}

// IsGUI reports whether args start the tray app (no sub-command, or only GUI flags such as --demo).
func IsGUI(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return false
		}
		if a == "-h" || a == "--help" || a == "-help" {
			return false
		}
		if a == "--config" || a == "-config" {
			i++ // its value: `cliproxy --config FILE` starts the tray app
		}
	}
	return true
}

// RunCommand runs a sub-command and returns the process exit code.
func RunCommand(args []string, env Env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		usage(env.Stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], env)
		}
	}
	for _, c := range extraCommands {
		if c.name == args[0] {
			return c.run(args[1:], env)
		}
	}
	fmt.Fprintf(env.Stderr, "cliproxy: unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return 2
}

// extraCommands are commands added by other files of the package (none at the moment); the built-in ones
// are listed in commands.
var extraCommands []command

func usage(w io.Writer) {
	all := append(commands(), extraCommands...)
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	fmt.Fprintln(w, "Usage: cliproxy [COMMAND] [--config FILE] [flags]")
	fmt.Fprintln(w)
	if Headless {
		fmt.Fprintln(w, "This is the headless build: it has no tray app; `cliproxy serve` runs the proxy.")
	} else {
		fmt.Fprintln(w, "Without a command cliproxy starts the tray app with the embedded proxy (--demo: with sample data).")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range all {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "  help      show this help")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every command takes --config FILE and honours CLIPROXY_CONFIG; CLIPROXY_DATA_DIR moves the database and")
	fmt.Fprintln(w, "credential files. Commands work while the app runs.")
}

func newFlagSet(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet("cliproxy "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// runConfig implements `cliproxy config check FILE`.
func runConfig(args []string, env Env) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(env.Stderr, "usage: cliproxy config check [FILE]   (FILE defaults to --config, $CLIPROXY_CONFIG or the default path)")
		return 2
	}
	fs := newFlagSet("config check", env)
	configFlag := fs.String("config", "", "configuration file")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	path := fs.Arg(0)
	if path == "" {
		path, _ = config.ResolvePath(*configFlag)
	}
	warnings, errs := config.Check(path)
	for _, w := range warnings {
		fmt.Fprintln(env.Stdout, "warning:", w)
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(env.Stdout, "error:", e)
		}
		fmt.Fprintf(env.Stdout, "%s: %d error(s)\n", path, len(errs))
		return 1
	}
	fmt.Fprintf(env.Stdout, "%s: OK\n", path)
	return 0
}
