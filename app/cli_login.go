package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// runLogin implements `cliproxy login PROVIDER [--no-browser]`.
func runLogin(args []string, env Env) int {
	fs := newFlagSet("login", env)
	configFlag := fs.String("config", "", "configuration file")
	noBrowser := fs.Bool("no-browser", false, "print the login address instead of opening the browser")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2
	}
	return withCore(*configFlag, env, func(_ context.Context, c *Core) int {
		if len(pos) != 1 {
			fmt.Fprintln(env.Stderr, "usage: cliproxy login PROVIDER [--no-browser]")
			fmt.Fprintln(env.Stderr, "providers:")
			for _, p := range c.LoginProviders() {
				fmt.Fprintf(env.Stderr, "  %-12s %s\n", p.ID, p.Name)
			}
			return 2
		}
		// A login takes as long as the user needs; Ctrl-C ends it.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return loginCLI(ctx, c, pos[0], *noBrowser, env)
	})
}

// loginCLI runs one login in the terminal: it shows the address or code, accepts a pasted redirect
// address on stdin for browser logins, and waits until the login ends or ctx does.
func loginCLI(ctx context.Context, c *Core, providerID string, noBrowser bool, env Env) int {
	l, err := c.StartLogin(ctx, providerID, LoginOptions{NoBrowser: noBrowser})
	if err != nil {
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	if l.Device {
		fmt.Fprintf(env.Stdout, "To log in to %s, open\n\n    %s\n\nand enter the code\n\n    %s\n\n", l.ProviderName,
			firstNonEmpty(l.VerificationURI, l.VerificationURIComplete), l.UserCode)
	} else {
		if noBrowser || l.BrowserError != "" {
			fmt.Fprintf(env.Stdout, "To log in to %s, open this address in a browser:\n\n", l.ProviderName)
		} else {
			fmt.Fprintf(env.Stdout, "A browser window was opened to log in to %s. If it did not open, use this address:\n\n", l.ProviderName)
		}
		fmt.Fprintf(env.Stdout, "%s\n\n", l.URL)
		if env.Stdin != nil {
			fmt.Fprintln(env.Stdout, "If the browser cannot reach this computer after you sign in, paste the address it ended on here and press Enter.")
			go readRedirects(l, env)
		}
	}
	fmt.Fprintln(env.Stdout, "Waiting for the login to finish (Ctrl-C cancels)...")
	info, err := l.Wait(ctx)
	if err != nil {
		if ctx.Err() != nil {
			l.Cancel()
			fmt.Fprintln(env.Stderr, "cliproxy: login cancelled")
			return 1
		}
		fmt.Fprintln(env.Stderr, "cliproxy:", err)
		return 1
	}
	fmt.Fprintf(env.Stdout, "Logged in to %s as %s (account %s).\n", info.ProviderName, info.Label, info.ID)
	if info.Error != "" {
		fmt.Fprintf(env.Stdout, "Note: %s\n", info.Error)
	}
	return 0
}

// readRedirects hands every non-empty stdin line to the login until it ends.
func readRedirects(l *Login, env Env) {
	sc := bufio.NewScanner(env.Stdin)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if l.State() != LoginWaiting {
			return
		}
		if err := l.SubmitRedirect(line); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(env.Stderr, "That address did not work (%v). Paste the whole address from the browser's address bar.\n", err)
		}
	}
}
