package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/oauth"
)

// ImportedAccount is one credential found in another tool's files.
type ImportedAccount struct {
	File     string // file name it came from
	Provider string // our provider id
	Label    string
	Token    oauth.Token
	Disabled bool
}

// ImportSkip is a file that was not imported, with the reason.
type ImportSkip struct {
	File   string
	Reason string
}

// cliProxyAPIFile is the union of the fields of CLIProxyAPI's (and CLIProxyAPI Plus's) auth files:
// one JSON object per account whose "type" names the provider (claude, codex, gemini, qwen, kiro,
// copilot / github-copilot). Field names are those the files use.
type cliProxyAPIFile struct {
	Type         string          `json:"type"`
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	IDToken      string          `json:"id_token"`
	TokenType    string          `json:"token_type"`
	Scope        string          `json:"scope"`
	Expired      string          `json:"expired"`    // RFC 3339 (claude, codex, qwen, copilot)
	ExpiresAt    string          `json:"expires_at"` // RFC 3339 (kiro)
	Email        string          `json:"email"`
	Login        string          `json:"login"`
	Username     string          `json:"username"`
	AccountID    string          `json:"account_id"`
	ResourceURL  string          `json:"resource_url"`
	ProjectID    string          `json:"project_id"`
	Token        json.RawMessage `json:"token"` // gemini: the Go oauth2 token object
	ProfileArn   string          `json:"profile_arn"`
	AuthMethod   string          `json:"auth_method"`
	ClientID     string          `json:"clientId"`
	ClientSecret string          `json:"clientSecret"`
	Region       string          `json:"region"`
	Disabled     bool            `json:"disabled"`
}

// oauth2Token is the JSON form of golang.org/x/oauth2.Token that gemini files embed.
type oauth2Token struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	Expiry       string `json:"expiry"`
}

// ReadCLIProxyAPIDir reads every *.json file of a CLIProxyAPI auth directory and sorts them into
// importable accounts and skipped files with reasons. It reads only; nothing is stored.
func ReadCLIProxyAPIDir(dir string) ([]ImportedAccount, []ImportSkip, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w (pass the folder that holds CLIProxyAPI's auth files)", dir, err)
	}
	var (
		found   []ImportedAccount
		skipped []ImportSkip
	)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(strings.ToLower(e.Name()), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			skipped = append(skipped, ImportSkip{e.Name(), "cannot be read: " + err.Error()})
			continue
		}
		a, err := parseCLIProxyAPIFile(b)
		if err != nil {
			skipped = append(skipped, ImportSkip{e.Name(), err.Error()})
			continue
		}
		a.File = e.Name()
		found = append(found, a)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].File < found[j].File })
	sort.Slice(skipped, func(i, j int) bool { return skipped[i].File < skipped[j].File })
	return found, skipped, nil
}

// unsupportedTypes explains the CLIProxyAPI providers this app does not offer.
var unsupportedTypes = map[string]string{
	"iflow":       "iFlow shut down on 2026-04-17",
	"antigravity": "Antigravity is not offered (accounts were reported banned for third-party use)",
}

func parseCLIProxyAPIFile(b []byte) (ImportedAccount, error) {
	var f cliProxyAPIFile
	if err := json.Unmarshal(b, &f); err != nil {
		return ImportedAccount{}, errors.New("not a CLIProxyAPI auth file (not a JSON object)")
	}
	typ := strings.ToLower(strings.TrimSpace(f.Type))
	if why, ok := unsupportedTypes[typ]; ok {
		return ImportedAccount{}, errors.New("type " + typ + " is not supported: " + why)
	}
	a := ImportedAccount{Disabled: f.Disabled}
	tok := oauth.Token{AccessToken: f.AccessToken, RefreshToken: f.RefreshToken, IDToken: f.IDToken,
		TokenType: f.TokenType, Scope: f.Scope, Extra: map[string]string{}}
	exp, err := parseImportTime(firstNonEmpty(f.Expired, f.ExpiresAt))
	if err != nil {
		return ImportedAccount{}, err
	}
	tok.Expiry = exp
	setExtra := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			tok.Extra[k] = v
		}
	}
	setExtra(oauth.ExtraEmail, f.Email)
	switch typ {
	case "claude":
		a.Provider = oauth.ClaudeCode
	case "codex":
		a.Provider = oauth.Codex
		setExtra(oauth.ExtraAccountID, f.AccountID)
	case "qwen":
		a.Provider = oauth.Qwen
		setExtra(oauth.ExtraResourceURL, f.ResourceURL)
	case "gemini":
		a.Provider = oauth.GeminiCLI
		var t oauth2Token
		if len(f.Token) == 0 || json.Unmarshal(f.Token, &t) != nil {
			return ImportedAccount{}, errors.New("gemini file without a token object")
		}
		tok.AccessToken, tok.RefreshToken, tok.TokenType = t.AccessToken, t.RefreshToken, t.TokenType
		if tok.Expiry, err = parseImportTime(t.Expiry); err != nil {
			return ImportedAccount{}, err
		}
		if p := strings.TrimSpace(f.ProjectID); p != "" && !strings.EqualFold(p, "all") && !strings.Contains(p, ",") {
			setExtra(oauth.ExtraProjectID, p)
		}
	case "kiro":
		a.Provider = oauth.Kiro
		setExtra(oauth.ExtraProfileArn, f.ProfileArn)
		setExtra(oauth.ExtraRegion, firstNonEmpty(f.Region, "us-east-1"))
		if f.ClientID != "" && f.ClientSecret != "" {
			tok.Extra[oauth.ExtraAuthMethod] = oauth.KiroAuthBuilderID
			setExtra(oauth.ExtraClientID, f.ClientID)
			setExtra(oauth.ExtraClientSecret, f.ClientSecret)
		} else {
			tok.Extra[oauth.ExtraAuthMethod] = oauth.KiroAuthSocial
		}
	case "copilot", "github-copilot":
		// The file holds the GitHub token; the Copilot token is minted from it on first use.
		a.Provider = oauth.Copilot
		gh := f.AccessToken
		tok = oauth.Token{RefreshToken: gh, Extra: map[string]string{oauth.ExtraGitHubToken: gh}}
		setExtra(oauth.ExtraLogin, firstNonEmpty(f.Login, f.Username))
		setExtra(oauth.ExtraEmail, f.Email)
		if gh == "" {
			return ImportedAccount{}, errors.New("copilot file without a GitHub access_token")
		}
	case "":
		return ImportedAccount{}, errors.New("no \"type\" field: not a CLIProxyAPI auth file")
	default:
		return ImportedAccount{}, errors.New("type " + typ + " is not a provider this app supports")
	}
	if a.Provider != oauth.Copilot && tok.RefreshToken == "" {
		return ImportedAccount{}, errors.New("no refresh_token: the account could not be kept logged in; log in with `cliproxy login " + a.Provider + "` instead")
	}
	a.Label = firstNonEmpty(tok.Extra[oauth.ExtraEmail], tok.Extra[oauth.ExtraLogin], tok.Extra[oauth.ExtraAccountID])
	a.Token = tok
	return a, nil
}

// parseImportTime reads an RFC 3339 time ("" = unknown, which makes the token refresh on first use).
func parseImportTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("expiry %q is not an RFC 3339 time", s)
	}
	return t, nil
}

// ImportAccount stores a credential obtained elsewhere as an account (replacing one with the same
// provider and label) and makes it routable unless disabled.
func (c *Core) ImportAccount(ctx context.Context, a ImportedAccount) (AccountInfo, error) {
	if _, ok := c.providers.Get(a.Provider); !ok {
		return AccountInfo{}, fmt.Errorf("unknown provider %q", a.Provider)
	}
	info, err := c.saveAccount(ctx, a.Provider, a.Label, a.Token)
	if err != nil {
		return AccountInfo{}, err
	}
	if a.Disabled {
		if err := c.SetAccountDisabled(info.ID, true); err != nil {
			return AccountInfo{}, err
		}
		info.Disabled = true
	}
	return info, nil
}
