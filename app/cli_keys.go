package app

import (
	"context"
	"fmt"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/spend"
)

const keysUsage = `usage: cliproxy keys [list]
       cliproxy keys create --name NAME [--budget USD --period daily|weekly|monthly|total]
                            [--models a,b] [--rpm N] [--tpm N] [--max-parallel N] [--expires 30d]
       cliproxy keys revoke ID`

// runKeys implements `cliproxy keys`.
func runKeys(args []string, env Env) int {
	sub, args := splitSub(args, "list")
	fs := newFlagSet("keys "+sub, env)
	configFlag := fs.String("config", "", "configuration file")
	name := fs.String("name", "", "create: a name for the key")
	budget := fs.Float64("budget", 0, "create: budget in USD (0 = none)")
	period := fs.String("period", "", "create: budget period: daily, weekly, monthly or total (default total)")
	models := fs.String("models", "", "create: comma-separated models the key may use, '*' wildcards allowed (default all)")
	rpm := fs.Int("rpm", 0, "create: requests per minute (0 = the global default)")
	tpm := fs.Int("tpm", 0, "create: tokens per minute (0 = the global default)")
	parallel := fs.Int("max-parallel", 0, "create: requests in flight at once (0 = the global default)")
	expires := fs.String("expires", "", "create: lifetime such as 30d, 2w or 12h (default never)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2
	}
	switch {
	case sub == "list" && len(pos) == 0:
	case sub == "create" && len(pos) == 0:
		if strings.TrimSpace(*name) == "" {
			fmt.Fprintln(env.Stderr, "cliproxy: give the key a name with --name")
			return 2
		}
	case sub == "revoke" && len(pos) == 1:
	default:
		fmt.Fprintln(env.Stderr, keysUsage)
		return 2
	}
	return withCore(*configFlag, env, func(ctx context.Context, c *Core) int {
		p := spend.KeyParams{Name: strings.TrimSpace(*name), BudgetUSD: *budget, BudgetPeriod: *period,
			RPM: *rpm, TPM: *tpm, MaxParallel: *parallel, Models: splitList(*models)}
		return keysCommand(ctx, c, sub, pos, p, *expires, env)
	})
}

// keysCommand runs list, revoke or create on an open Core.
func keysCommand(ctx context.Context, c *Core, sub string, pos []string, p spend.KeyParams, expires string, env Env) int {
	switch sub {
	case "list":
		printKeys(env, c.Keys().List(), c.clk.Now())
	case "revoke":
		if err := c.Keys().Revoke(ctx, pos[0]); err != nil {
			fmt.Fprintf(env.Stderr, "cliproxy: %v (`cliproxy keys list` shows the ids)\n", err)
			return 1
		}
		fmt.Fprintf(env.Stdout, "Revoked key %s.\n", pos[0])
		c.noteRunningProxy(env)
	case "create":
		if expires != "" {
			d, err := parseLifetime(expires)
			if err != nil {
				fmt.Fprintln(env.Stderr, "cliproxy: --expires:", err)
				return 2
			}
			t := c.clk.Now().Add(d).UTC()
			p.ExpiresAt = &t
		}
		plain, key, err := c.Keys().Create(ctx, p)
		if err != nil {
			fmt.Fprintln(env.Stderr, "cliproxy:", err)
			return 1
		}
		fmt.Fprintf(env.Stdout, "Created key %s (%s). Copy it now; it is not shown again:\n\n    %s\n\n", key.ID, key.Name, plain)
		c.noteRunningProxy(env)
	}
	return 0
}

// noteRunningProxy tells that a proxy already running elsewhere sees the change at its next key sync
// (virtual keys are held in memory for speed and reloaded every accountSyncEvery).
func (c *Core) noteRunningProxy(env Env) {
	conn, err := net.DialTimeout("tcp", c.Config().Addr(), time.Second)
	if err != nil {
		return
	}
	_ = conn.Close()
	fmt.Fprintln(env.Stdout, "Note: the proxy running on "+c.Config().Addr()+" picks up key changes within 10 seconds.")
}

func printKeys(env Env, list []spend.KeyStatus, now time.Time) {
	if len(list) == 0 {
		fmt.Fprintln(env.Stdout, "No virtual keys. Create one with `cliproxy keys create --name NAME`.")
		return
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tKEY\tBUDGET\tSPENT\tMODELS\tSTATUS\tEXPIRES")
	for _, k := range list {
		budget := "-"
		if k.BudgetUSD > 0 {
			budget = fmt.Sprintf("$%.2f/%s", k.BudgetUSD, k.BudgetPeriod)
		}
		models := "all"
		if len(k.Models) > 0 {
			models = strings.Join(k.Models, ",")
		}
		exp := "never"
		if k.ExpiresAt != nil {
			exp = k.ExpiresAt.Local().Format("2006-01-02")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t$%.4f\t%s\t%s\t%s\n", k.ID, k.Name, k.Masked(), budget, k.SpentUSD, models,
			keyState(k.Key, now), exp)
	}
	_ = tw.Flush()
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
