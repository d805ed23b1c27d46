package provider

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
)

// TokenSource hands out the current access token of a logged-in account. *oauth.Refresher satisfies it:
// Token refreshes ahead of expiry, Refresh forces one refresh (executors call it once after a 401/403 before
// giving the failure to the router).
type TokenSource interface {
	Token(ctx context.Context, id string) (oauth.Token, error)
	Refresh(ctx context.Context, id string) (oauth.Token, error)
}

// AccountOptions builds the executor of one subscription account. Every provider sub-package
// (claudecode, codex, copilot, kiro, qwen, geminicli) exposes New(AccountOptions) (Executor, error).
type AccountOptions struct {
	ID       string            // credential id, unique across providers (the keystore id)
	Label    string            // account label for the UI, e.g. the e-mail
	Tokens   TokenSource       // current tokens of the account
	Settings map[string]string // the [providers.<id>] settings merged over the built-in defaults (base-url, ...)
	Client   *http.Client      // pooled client shared with the other executors of the same proxy-url
	Logger   *slog.Logger      // nil: discard
}

// AccountFactory builds an executor for one provider id.
type AccountFactory func(AccountOptions) (Executor, error)
