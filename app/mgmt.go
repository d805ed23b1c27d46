package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/server"
	"github.com/cliproxy/cliproxy/proxycore/spend"
	"github.com/cliproxy/cliproxy/proxycore/store"
)

// managementRoutes returns the app's routes under /v0/management. The server guards them with the
// management key and the loopback rule. Secrets never leave: keys are masked except in the answer to
// their creation, and credentials are never shown.
func (c *Core) managementRoutes() []server.MgmtRoute {
	return []server.MgmtRoute{
		{Method: http.MethodGet, Path: "/keys", Handler: c.mgmtListKeys},
		{Method: http.MethodPost, Path: "/keys", Handler: c.mgmtCreateKey},
		{Method: http.MethodDelete, Path: "/keys/{id}", Handler: c.mgmtRevokeKey},
		{Method: http.MethodGet, Path: "/spend", Handler: c.mgmtSpend},
		{Method: http.MethodGet, Path: "/requests", Handler: c.mgmtRequests},
		{Method: http.MethodGet, Path: "/request-log", Handler: c.mgmtRequestLog},
		{Method: http.MethodGet, Path: "/accounts", Handler: c.mgmtAccounts},
		{Method: http.MethodPost, Path: "/accounts/{id}/disable", Handler: c.mgmtSetDisabled(true)},
		{Method: http.MethodPost, Path: "/accounts/{id}/enable", Handler: c.mgmtSetDisabled(false)},
		{Method: http.MethodDelete, Path: "/accounts/{id}", Handler: c.mgmtRemoveAccount},
		{Method: http.MethodPost, Path: "/logins", Handler: c.mgmtStartLogin},
		{Method: http.MethodPost, Path: "/logins/{provider}", Handler: c.mgmtStartLogin},
		{Method: http.MethodGet, Path: "/logins/{id}", Handler: c.mgmtLogin},
		{Method: http.MethodPost, Path: "/logins/{id}/redirect", Handler: c.mgmtLoginRedirect},
		{Method: http.MethodDelete, Path: "/logins/{id}", Handler: c.mgmtCancelLogin},
	}
}

// maxMgmtBody bounds management request bodies.
const maxMgmtBody = 64 << 10

func writeMgmtJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeMgmtErr writes {"error":{"message":...,"status":...}}; msg is a sentence saying what to do.
func writeMgmtErr(w http.ResponseWriter, code int, msg string) {
	writeMgmtJSON(w, code, map[string]any{"error": map[string]any{"message": msg, "status": code}})
}

// needDatabase answers 503 and reports false when the Core runs on the stand-in database (see
// standin.go): keys and spend read or written there would not be the user's and would not last.
func (c *Core) needDatabase(w http.ResponseWriter) bool {
	if c.dbErr == nil {
		return true
	}
	writeMgmtErr(w, http.StatusServiceUnavailable, "Spend tracking and virtual keys are unavailable: the database could not be opened ("+
		c.dbErr.Error()+"). "+remedyOf(c.dbErr))
	return false
}

func readMgmtJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMgmtBody))
	if err != nil {
		writeMgmtErr(w, http.StatusRequestEntityTooLarge, "The request body is too large; send at most 64 KiB of JSON.")
		return false
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return true
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeMgmtErr(w, http.StatusBadRequest, "The body is not valid JSON for this endpoint ("+err.Error()+"); fix it and try again.")
		return false
	}
	return true
}

// keyJSON is a virtual key as the management API shows it (masked).
type keyJSON struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Key          string     `json:"key"` // masked, except in the creation answer
	Models       []string   `json:"models"`
	BudgetUSD    float64    `json:"budget-usd"`
	BudgetPeriod string     `json:"budget-period"`
	SpentUSD     float64    `json:"spent-usd"`
	ResetAt      *time.Time `json:"reset-at,omitempty"`
	RPM          int        `json:"rpm"`
	TPM          int        `json:"tpm"`
	MaxParallel  int        `json:"max-parallel"`
	ExpiresAt    *time.Time `json:"expires-at,omitempty"`
	CreatedAt    time.Time  `json:"created-at"`
	RevokedAt    *time.Time `json:"revoked-at,omitempty"`
	Status       string     `json:"status"` // active | revoked | expired
}

func toKeyJSON(k spend.KeyStatus, now time.Time) keyJSON {
	out := keyJSON{ID: k.ID, Name: k.Name, Key: k.Masked(), Models: k.Models, BudgetUSD: k.BudgetUSD,
		BudgetPeriod: k.BudgetPeriod, SpentUSD: k.SpentUSD, RPM: k.RPM, TPM: k.TPM, MaxParallel: k.MaxParallel,
		ExpiresAt: k.ExpiresAt, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt, Status: keyState(k.Key, now)}
	if out.Models == nil {
		out.Models = []string{}
	}
	if !k.ResetAt.IsZero() {
		t := k.ResetAt
		out.ResetAt = &t
	}
	return out
}

func keyState(k spend.Key, now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return "expired"
	}
	return "active"
}

func (c *Core) mgmtListKeys(w http.ResponseWriter, r *http.Request) {
	if !c.needDatabase(w) {
		return
	}
	now := c.clk.Now()
	list := c.keys.List()
	out := make([]keyJSON, 0, len(list))
	for _, k := range list {
		out = append(out, toKeyJSON(k, now))
	}
	writeMgmtJSON(w, http.StatusOK, map[string]any{"keys": out})
}

// createKeyJSON is the body of POST /keys.
type createKeyJSON struct {
	Name         string     `json:"name"`
	Models       []string   `json:"models"`
	BudgetUSD    float64    `json:"budget-usd"`
	BudgetPeriod string     `json:"budget-period"`
	RPM          int        `json:"rpm"`
	TPM          int        `json:"tpm"`
	MaxParallel  int        `json:"max-parallel"`
	ExpiresAt    *time.Time `json:"expires-at"`
	ExpiresIn    string     `json:"expires-in"` // e.g. "30d", "12h"
}

func (c *Core) mgmtCreateKey(w http.ResponseWriter, r *http.Request) {
	if !c.needDatabase(w) {
		return
	}
	var in createKeyJSON
	if !readMgmtJSON(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.Name) == "" {
		writeMgmtErr(w, http.StatusBadRequest, "Give the key a name: send {\"name\": \"...\"}.")
		return
	}
	p := spend.KeyParams{Name: strings.TrimSpace(in.Name), Models: in.Models, BudgetUSD: in.BudgetUSD,
		BudgetPeriod: in.BudgetPeriod, RPM: in.RPM, TPM: in.TPM, MaxParallel: in.MaxParallel, ExpiresAt: in.ExpiresAt}
	if in.ExpiresIn != "" {
		d, err := parseLifetime(in.ExpiresIn)
		if err != nil {
			writeMgmtErr(w, http.StatusBadRequest, "expires-in: "+err.Error())
			return
		}
		t := c.clk.Now().Add(d).UTC()
		p.ExpiresAt = &t
	}
	plain, key, err := c.keys.Create(r.Context(), p)
	if err != nil {
		writeMgmtErr(w, http.StatusBadRequest, capitalize(err.Error())+". Fix the request and try again.")
		return
	}
	st, err := c.keys.Get(key.ID)
	if err != nil {
		st = spend.KeyStatus{Key: key}
	}
	out := toKeyJSON(st, c.clk.Now())
	out.Key = plain
	writeMgmtJSON(w, http.StatusCreated, map[string]any{"key": out,
		"note": "This is the only time the full key is shown; store it now."})
}

func (c *Core) mgmtRevokeKey(w http.ResponseWriter, r *http.Request) {
	if !c.needDatabase(w) {
		return
	}
	id := mux.Vars(r)["id"]
	if err := c.keys.Revoke(r.Context(), id); err != nil {
		if errors.Is(err, spend.ErrUnknownKey) {
			writeMgmtErr(w, http.StatusNotFound, "No key with id '"+id+"'. GET /v0/management/keys lists them.")
			return
		}
		writeMgmtErr(w, http.StatusInternalServerError, "Revoking the key failed ("+err.Error()+"); try again.")
		return
	}
	writeMgmtJSON(w, http.StatusOK, map[string]any{"id": id, "revoked": true})
}

// spendJSON is one group of GET /spend.
type spendJSON struct {
	Key          string  `json:"key"`
	Requests     int64   `json:"requests"`
	Errors       int64   `json:"errors"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CachedTokens int64   `json:"cached_tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

func toSpendJSON(key string, t store.SpendTotal) spendJSON {
	return spendJSON{Key: key, Requests: t.Requests, Errors: t.Errors, InputTokens: t.InputTokens,
		OutputTokens: t.OutputTokens, CachedTokens: t.CachedTokens, CostUSD: t.CostUSD}
}

// parseMgmtTime reads a date (UTC midnight) or an RFC 3339 time.
func parseMgmtTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, v)
}

// spendWindow returns [from, to) covering the last days UTC days including today.
func spendWindow(now time.Time, days int) (time.Time, time.Time) {
	today := now.UTC().Truncate(24 * time.Hour)
	return today.AddDate(0, 0, -(days - 1)), today.AddDate(0, 0, 1)
}

func (c *Core) mgmtSpend(w http.ResponseWriter, r *http.Request) {
	if !c.needDatabase(w) {
		return
	}
	q := r.URL.Query()
	group := q.Get("group-by")
	switch group {
	case store.GroupDay, store.GroupModel, store.GroupProvider, store.GroupKey, "":
	default:
		writeMgmtErr(w, http.StatusBadRequest, "group-by must be day, model, provider or key.")
		return
	}
	days, ok := intParam(w, q.Get("days"), "days", 30, 1, 3660)
	if !ok {
		return
	}
	from, to := spendWindow(c.clk.Now(), days)
	if v := q.Get("from"); v != "" {
		t, err := parseMgmtTime(v)
		if err != nil {
			writeMgmtErr(w, http.StatusBadRequest, "from must be a date (2026-01-31) or an RFC 3339 time (2026-01-31T08:00:00Z).")
			return
		}
		from = t
	}
	if v := q.Get("to"); v != "" {
		t, err := parseMgmtTime(v)
		if err != nil {
			writeMgmtErr(w, http.StatusBadRequest, "to must be a date (2026-01-31) or an RFC 3339 time (2026-01-31T08:00:00Z).")
			return
		}
		if len(v) == len(time.DateOnly) {
			t = t.AddDate(0, 0, 1) // a date names the whole day
		}
		to = t
	}
	if !from.Before(to) {
		writeMgmtErr(w, http.StatusBadRequest, "from must be before to.")
		return
	}
	groups, total, err := c.st.SpendSummary(r.Context(), from, to, group)
	if err != nil {
		writeMgmtErr(w, http.StatusInternalServerError, "Reading spend failed ("+err.Error()+"); try again.")
		return
	}
	out := make([]spendJSON, 0, len(groups))
	for _, g := range groups {
		out = append(out, toSpendJSON(g.Key, g.SpendTotal))
	}
	writeMgmtJSON(w, http.StatusOK, map[string]any{"group_by": group, "days": days, "from": from, "to": to,
		"groups": out, "total": toSpendJSON("", total)})
}

// requestJSON is one row of GET /requests.
type requestJSON struct {
	Time         time.Time `json:"time"`
	RequestID    string    `json:"request_id"`
	KeyID        string    `json:"key_id"`
	CredentialID string    `json:"credential_id"`
	Provider     string    `json:"provider"`
	Model        string    `json:"model"`
	Route        string    `json:"route"`
	Status       int       `json:"status"`
	ErrorClass   string    `json:"error_class,omitempty"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
	CostUSD      float64   `json:"cost_usd"`
	LatencyMS    int64     `json:"latency_ms"`
	CacheHit     bool      `json:"cache_hit"`
}

func (c *Core) mgmtRequests(w http.ResponseWriter, r *http.Request) {
	if !c.needDatabase(w) {
		return
	}
	limit, ok := intParam(w, r.URL.Query().Get("limit"), "limit", 100, 1, 1000)
	if !ok {
		return
	}
	rows, err := c.st.RecentRequests(r.Context(), limit)
	if err != nil {
		writeMgmtErr(w, http.StatusInternalServerError, "Reading recent requests failed ("+err.Error()+"); try again.")
		return
	}
	out := make([]requestJSON, 0, len(rows))
	for _, x := range rows {
		out = append(out, requestJSON{Time: x.Time, RequestID: x.RequestID, KeyID: x.KeyID, CredentialID: x.CredentialID,
			Provider: x.Provider, Model: x.Model, Route: x.Route, Status: x.Status, ErrorClass: x.ErrorClass,
			InputTokens: x.InputTokens, OutputTokens: x.OutputTokens, CostUSD: x.CostUSD, LatencyMS: x.LatencyMS,
			CacheHit: x.CacheHit})
	}
	writeMgmtJSON(w, http.StatusOK, map[string]any{"requests": out})
}

// requestLogJSON is one entry of GET /request-log.
type requestLogJSON struct {
	ID           int64     `json:"id"`
	Time         time.Time `json:"time"`
	RequestID    string    `json:"request_id"`
	Method       string    `json:"method"`
	Path         string    `json:"path"`
	Status       int       `json:"status"`
	LatencyMS    int64     `json:"latency_ms"`
	RequestBody  string    `json:"request_body"`
	ResponseBody string    `json:"response_body"`
}

// mgmtRequestLog serves the request log ([request-log]), newest first, with the bodies as they were
// stored: masked and cut to max-body-kb. ?limit=N (default 20, at most 200) and ?before=ID, the id of
// the last entry of the previous page, page back.
func (c *Core) mgmtRequestLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := intParam(w, q.Get("limit"), "limit", 20, 1, 200)
	if !ok {
		return
	}
	var before int64
	if raw := q.Get("before"); raw != "" {
		v, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || v < 1 {
			writeMgmtErr(w, http.StatusBadRequest, "before must be the id of an entry (a positive integer), as returned in the previous page.")
			return
		}
		before = v
	}
	rows, err := c.reqLogFile.recent(r.Context(), limit, before)
	if err != nil {
		writeMgmtErr(w, http.StatusInternalServerError, "Reading the request log failed ("+err.Error()+"); try again.")
		return
	}
	out := make([]requestLogJSON, 0, len(rows))
	for _, x := range rows {
		out = append(out, requestLogJSON{ID: x.ID, Time: x.Time, RequestID: x.RequestID, Method: x.Method, Path: x.Path,
			Status: x.Status, LatencyMS: x.LatencyMS, RequestBody: x.RequestBody, ResponseBody: x.ResponseBody})
	}
	writeMgmtJSON(w, http.StatusOK, map[string]any{"enabled": c.Config().RequestLog.Enable, "entries": out})
}

// accountJSON is an account as the management API shows it.
type accountJSON struct {
	ID           string         `json:"id"`
	Provider     string         `json:"provider"`
	ProviderName string         `json:"provider_name"`
	Label        string         `json:"label"`
	Disabled     bool           `json:"disabled"`
	State        string         `json:"state,omitempty"`
	Error        string         `json:"error,omitempty"`
	Models       []string       `json:"models"`
	Quota        provider.Quota `json:"quota"`
	AddedAt      time.Time      `json:"added_at"`
	LastUsedAt   *time.Time     `json:"last_used_at,omitempty"`
}

func toAccountJSON(a AccountInfo) accountJSON {
	m := a.Models
	if m == nil {
		m = []string{}
	}
	out := accountJSON{ID: a.ID, Provider: a.Provider, ProviderName: a.ProviderName, Label: a.Label,
		Disabled: a.Disabled, State: a.State, Error: a.Error, Models: m, Quota: a.Quota, AddedAt: a.AddedAt}
	if !a.LastUsedAt.IsZero() {
		t := a.LastUsedAt
		out.LastUsedAt = &t
	}
	return out
}

func (c *Core) mgmtAccounts(w http.ResponseWriter, r *http.Request) {
	list := c.Accounts()
	out := make([]accountJSON, 0, len(list))
	for _, a := range list {
		out = append(out, toAccountJSON(a))
	}
	writeMgmtJSON(w, http.StatusOK, map[string]any{"accounts": out})
}

func (c *Core) mgmtAccountError(w http.ResponseWriter, id string, err error) {
	if errors.Is(err, ErrNoAccount) {
		writeMgmtErr(w, http.StatusNotFound, "No account with id '"+id+"'. GET /v0/management/accounts lists them.")
		return
	}
	writeMgmtErr(w, http.StatusInternalServerError, "Changing the account failed ("+err.Error()+"); try again.")
}

func (c *Core) mgmtSetDisabled(disabled bool) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["id"]
		if err := c.SetAccountDisabled(id, disabled); err != nil {
			c.mgmtAccountError(w, id, err)
			return
		}
		a, err := c.account(id)
		if err != nil {
			c.mgmtAccountError(w, id, err)
			return
		}
		writeMgmtJSON(w, http.StatusOK, map[string]any{"account": toAccountJSON(a)})
	}
}

func (c *Core) mgmtRemoveAccount(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if err := c.RemoveAccount(id); err != nil {
		c.mgmtAccountError(w, id, err)
		return
	}
	writeMgmtJSON(w, http.StatusOK, map[string]any{"id": id, "removed": true})
}

// loginJSON is a login as the management API shows it. Status is "pending" while the user signs in,
// "ok" with the account label once the account is stored, and "error" with the reason otherwise
// (declined, expired, cancelled, ...).
type loginJSON struct {
	ID                      string       `json:"id"`
	Provider                string       `json:"provider"`
	Status                  string       `json:"status"`
	URL                     string       `json:"url,omitempty"`
	VerificationURI         string       `json:"verification-uri,omitempty"`
	VerificationURIComplete string       `json:"verification-uri-complete,omitempty"`
	UserCode                string       `json:"user-code,omitempty"`
	ExpiresAt               *time.Time   `json:"expires-at,omitempty"`
	Label                   string       `json:"label,omitempty"`
	Error                   string       `json:"error,omitempty"`
	Account                 *accountJSON `json:"account,omitempty"`
}

// loginStatus maps a login's state onto the management API's three statuses.
func loginStatus(state string) string {
	switch state {
	case LoginWaiting:
		return "pending"
	case LoginDone:
		return "ok"
	}
	return "error"
}

func toLoginJSON(l *Login) loginJSON {
	out := loginJSON{ID: l.ID, Provider: l.Provider, Status: loginStatus(l.State()), URL: l.URL, VerificationURI: l.VerificationURI,
		VerificationURIComplete: l.VerificationURIComplete, UserCode: l.UserCode}
	if !l.ExpiresAt.IsZero() {
		t := l.ExpiresAt
		out.ExpiresAt = &t
	}
	if err := l.Err(); err != nil {
		out.Error = err.Error()
	}
	if l.State() == LoginDone {
		a := toAccountJSON(l.Account())
		out.Account, out.Label = &a, a.Label
	}
	return out
}

// mgmtStartLogin serves POST /logins with {"provider": ID} (and POST /logins/{provider}).
func (c *Core) mgmtStartLogin(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["provider"]
	if id == "" {
		var in struct {
			Provider string `json:"provider"`
		}
		if !readMgmtJSON(w, r, &in) {
			return
		}
		id = strings.TrimSpace(in.Provider)
		if id == "" {
			writeMgmtErr(w, http.StatusBadRequest, "Name the provider to log in to: {\"provider\": \"claude-code\"} (one of: "+strings.Join(c.providers.IDs(), ", ")+").")
			return
		}
	}
	if _, ok := c.providers.Get(id); !ok {
		writeMgmtErr(w, http.StatusNotFound, "Unknown provider '"+id+"'. Use one of: "+strings.Join(c.providers.IDs(), ", ")+".")
		return
	}
	l, err := c.StartLogin(r.Context(), id, LoginOptions{NoBrowser: true})
	if err != nil {
		writeMgmtErr(w, http.StatusBadGateway, "Starting the login failed ("+err.Error()+"); try again.")
		return
	}
	writeMgmtJSON(w, http.StatusCreated, toLoginJSON(l))
}

func (c *Core) mgmtFindLogin(w http.ResponseWriter, r *http.Request) (*Login, bool) {
	id := mux.Vars(r)["id"]
	l, ok := c.LoginByID(id)
	if !ok {
		writeMgmtErr(w, http.StatusNotFound, "No login with id '"+id+"'; it may have finished a while ago. Start a new one with POST /v0/management/logins.")
	}
	return l, ok
}

func (c *Core) mgmtLogin(w http.ResponseWriter, r *http.Request) {
	if l, ok := c.mgmtFindLogin(w, r); ok {
		writeMgmtJSON(w, http.StatusOK, toLoginJSON(l))
	}
}

func (c *Core) mgmtLoginRedirect(w http.ResponseWriter, r *http.Request) {
	l, ok := c.mgmtFindLogin(w, r)
	if !ok {
		return
	}
	var in struct {
		URL string `json:"url"`
	}
	if !readMgmtJSON(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.URL) == "" {
		writeMgmtErr(w, http.StatusBadRequest, "Send the address the browser was sent to after signing in: {\"url\": \"http://localhost:.../callback?code=...\"}.")
		return
	}
	if err := l.SubmitRedirect(strings.TrimSpace(in.URL)); err != nil {
		writeMgmtErr(w, http.StatusBadRequest, capitalize(err.Error())+". Copy the whole address from the browser and try again.")
		return
	}
	writeMgmtJSON(w, http.StatusAccepted, toLoginJSON(l))
}

func (c *Core) mgmtCancelLogin(w http.ResponseWriter, r *http.Request) {
	if l, ok := c.mgmtFindLogin(w, r); ok {
		l.Cancel()
		writeMgmtJSON(w, http.StatusOK, map[string]any{"id": l.ID, "canceled": true})
	}
}

// intParam parses an optional integer query parameter within [lo, hi].
func intParam(w http.ResponseWriter, raw, name string, def, lo, hi int) (int, bool) {
	if raw == "" {
		return def, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		writeMgmtErr(w, http.StatusBadRequest, fmt.Sprintf("%s must be a whole number from %d to %d.", name, lo, hi))
		return 0, false
	}
	return n, true
}

// parseLifetime reads "30d", "2w", "12h", "90m" (or any time.ParseDuration form).
func parseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, errors.New("empty duration; write e.g. 30d, 2w or 12h")
	}
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	var d time.Duration
	if unit != 0 {
		n, err := strconv.ParseFloat(s[:len(s)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration; write e.g. 30d, 2w or 12h", s)
		}
		d = time.Duration(n * float64(unit))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration; write e.g. 30d, 2w or 12h", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be positive", s)
	}
	return d, nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
