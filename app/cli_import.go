package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

const importUsage = "usage: cliproxy import cliproxyapi [DIR]   (DIR defaults to ~/.cli-proxy-api)"

// runImport implements `cliproxy import cliproxyapi [DIR]`.
func runImport(args []string, env Env) int {
	if len(args) == 0 || args[0] != "cliproxyapi" {
		fmt.Fprintln(env.Stderr, importUsage)
		return 2
	}
	fs := newFlagSet("import cliproxyapi", env)
	configFlag := fs.String("config", "", "configuration file")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return 2
	}
	if len(pos) > 1 {
		fmt.Fprintln(env.Stderr, importUsage)
		return 2
	}
	dir := ""
	if len(pos) == 1 {
		dir = pos[0]
	} else {
		home, err := os.UserHomeDir()
		if err != nil {
			fmt.Fprintln(env.Stderr, "cliproxy: cannot find the home directory; name the folder:", importUsage)
			return 2
		}
		dir = filepath.Join(home, ".cli-proxy-api")
	}
	found, skipped, err := ReadCLIProxyAPIDir(dir)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	return withCore(*configFlag, env, func(ctx context.Context, c *Core) int {
		return importAccounts(ctx, c, dir, found, skipped, env)
	})
}

// importAccounts stores the found accounts and prints what was imported and skipped.
func importAccounts(ctx context.Context, c *Core, dir string, found []ImportedAccount, skipped []ImportSkip, env Env) int {
	imported := 0
	for _, a := range found {
		info, err := c.ImportAccount(ctx, a)
		if err != nil {
			skipped = append(skipped, ImportSkip{a.File, err.Error()})
			continue
		}
		imported++
		state := ""
		if info.Disabled {
			state = " (disabled, as it was in CLIProxyAPI)"
		}
		fmt.Fprintf(env.Stdout, "imported  %s: %s account %s as %s%s\n", a.File, info.ProviderName, info.Label, info.ID, state)
	}
	for _, s := range skipped {
		fmt.Fprintf(env.Stdout, "skipped   %s: %s\n", s.File, s.Reason)
	}
	fmt.Fprintf(env.Stdout, "%d imported, %d skipped from %s. The credentials are now in the %s store; the original files were left as they are.\n",
		imported, len(skipped), dir, c.KeystoreBackend())
	if imported == 0 && len(skipped) > 0 {
		return 1
	}
	return 0
}
