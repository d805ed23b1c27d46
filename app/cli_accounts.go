package app

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cliproxy/cliproxy/keystore"
	"github.com/cliproxy/cliproxy/proxycore/config"
)

// EnvDataDir names the environment variable that moves the data directory (store and file keystore)
// for CLI commands, like CoreOptions.DataDir.
const EnvDataDir = "CLIPROXY_DATA_DIR"

// cliTimeout bounds a CLI command's store and keystore work.
const cliTimeout = time.Minute

// parseArgs parses flags that may come before, between or after the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// cliCoreOptions resolves --config, CLIPROXY_CONFIG and CLIPROXY_DATA_DIR for a command.
func cliCoreOptions(configFlag string, env Env) CoreOptions {
	if configFlag == "" {
		configFlag = env.getenv(config.EnvConfigPath)
	}
	// Commands log only errors: their output is the answer, and a keychain fallback notice on every
	// command would be noise.
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	return CoreOptions{ConfigFlag: configFlag, DataDir: env.getenv(EnvDataDir), Logger: log}
}

// withCore opens the Core for a command, runs fn with a context bounded by cliTimeout and closes the
// Core again. The Core does not listen, so commands work while the app runs (SQLite in WAL mode with a
// busy timeout, and the keystore's file lock, let two processes share the data).
func withCore(configFlag string, env Env, fn func(ctx context.Context, c *Core) int) int {
	c, err := OpenCore(cliCoreOptions(configFlag, env))
	if err != nil {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	code := fn(ctx, c)
	if err := c.Close(ctx); err != nil {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// splitSub returns the sub-command (def when args start with a flag or are empty) and the rest.
func splitSub(args []string, def string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return def, args
}

const accountsUsage = `usage: cliproxy accounts [list]
       cliproxy accounts remove|disable|enable ID
       cliproxy accounts migrate --to keychain|file`

// runAccounts implements `cliproxy accounts`.
func runAccounts(args []string, env Env) int {
	sub, args := splitSub(args, "list")
	fs := newFlagSet("accounts "+sub, env)
	configFlag := fs.String("config", "", "configuration file")
	to := fs.String("to", "", "migrate: the backend to move credentials to (keychain or file)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2
	}
	switch {
	case sub == "migrate":
		if len(pos) != 0 || (*to != keystore.BackendKeychain && *to != keystore.BackendFile) {
			fmt.Fprintln(env.Stderr, accountsUsage)
			return 2
		}
		return migrateKeystore(*configFlag, *to, env)
	case sub == "list" && len(pos) == 0:
		return withCore(*configFlag, env, func(_ context.Context, c *Core) int {
			printAccounts(env, c.Accounts())
			return 0
		})
	case (sub == "remove" || sub == "disable" || sub == "enable") && len(pos) == 1:
		return withCore(*configFlag, env, func(_ context.Context, c *Core) int { return changeAccount(c, sub, pos[0], env) })
	}
	fmt.Fprintln(env.Stderr, accountsUsage)
	return 2
}

// changeAccount removes, disables or enables one account.
func changeAccount(c *Core, sub, id string, env Env) int {
	before, err := c.account(id)
	if err == nil {
		switch sub {
		case "remove":
			err = c.RemoveAccount(id)
		default:
			err = c.SetAccountDisabled(id, sub == "disable")
		}
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	verb := map[string]string{"remove": "Removed", "disable": "Disabled", "enable": "Enabled"}[sub]
	fmt.Fprintf(env.Stdout, "%s %s account %s (%s).\n", verb, before.ProviderName, before.Label, id)
	return 0
}

func printAccounts(env Env, list []AccountInfo) {
	if len(list) == 0 {
		fmt.Fprintln(env.Stdout, "No accounts. Log in with `cliproxy login PROVIDER` (providers: claude-code, codex, copilot, gemini-cli, kiro, qwen).")
		return
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROVIDER\tACCOUNT\tSTATUS\tADDED")
	for _, a := range list {
		status := "enabled"
		switch {
		case a.Disabled:
			status = "disabled"
		case a.Error != "":
			status = "error: " + a.Error
		case a.State != "" && a.State != "HEALTHY":
			status = strings.ToLower(a.State)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.ProviderName, a.Label, status, a.AddedAt.Local().Format("2006-01-02 15:04"))
	}
	_ = tw.Flush()
}

// migrateKeystore moves every credential into the named backend and records the choice in the config
// file, so the app (which reloads the file) and later commands use it.
func migrateKeystore(configFlag, to string, env Env) int {
	o := cliCoreOptions(configFlag, env)
	cfg, path, _, err := loadConfig(o.ConfigFlag, o.Logger)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	from, fromName, err := openKeystore(cfg.Keystore, o.DataDir, "", o.Logger)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	target, toName, err := openKeystore(cfg.Keystore, o.DataDir, to, o.Logger)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	if fromName == toName {
		fmt.Fprintf(env.Stdout, "Credentials are already in the %s store.\n", toName)
	} else {
		ids, _ := from.List()
		if err := keystore.Migrate(from, target); err != nil {
			fmt.Fprintln(env.Stderr, "cliproxy:", err)
			return 1
		}
		fmt.Fprintf(env.Stdout, "Moved %d credential(s) from the %s store to the %s store.\n", len(ids), fromName, toName)
	}
	if cfg.Keystore.Backend == to {
		return 0
	}
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	text := setTOMLKey(string(data), "keystore", "backend", fmt.Sprintf("%q", to))
	if err := writeFileAtomic(path, []byte(text), 0o600); err != nil {
		fmt.Fprintf(env.Stderr, "cliproxy: could not record the choice in %s (%v); set [keystore] backend = %q there by hand.\n", path, err, to)
		return 1
	}
	fmt.Fprintf(env.Stdout, "Set [keystore] backend = %q in %s.\n", to, path)
	return 0
}
