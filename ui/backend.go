// Package ui is the desktop face of cliproxy: the tray menu, the dashboard window with its tabs and
// charts, the login dialogs and notifications. It is the only package that imports Fyne, and it talks to
// the rest of the program only through the Backend interface declared here, which the composition root
// (app) implements. Backend calls may block, so ui makes them off the UI goroutine and applies the results
// inside fyne.Do.
package ui

import "time"

// State is a credential's health state as the routing layer reports it.
type State string

// Health states, from best to worst.
const (
	StateHealthy  State = "HEALTHY"
	StateDegraded State = "DEGRADED"
	StateCooldown State = "COOLDOWN"
	StateError    State = "ERROR"
)

// StatusView is the proxy's one-line status, shown in the tray and at the top of the Overview tab.
type StatusView struct {
	Running       bool    // the listener is up
	Paused        bool    // the listener is up but refuses requests (503) until Resume
	Port          int     // listening port, e.g. 8317
	BaseURL       string  // what clients use, e.g. http://127.0.0.1:8317
	MaskedKey     string  // the client API key, masked (e.g. "sk-cp-...9f3a"); ClientKey gives the real one
	RequestsToday int64   // requests since local midnight
	SpendToday    float64 // USD since local midnight
	LastError     string  // a sentence for the user, e.g. "Port 8317 is in use: change it in Settings"
}

// AccountView is one credential: a subscription login or an API key from the config.
type AccountView struct {
	ID            string
	Provider      string // provider id, e.g. "claude-code"
	Label         string // e.g. the account e-mail or config label
	State         State
	Message       string // why the state is not HEALTHY, if it is not
	Disabled      bool
	RequestsToday int64
	SpendToday    float64 // USD
	QuotaHint     string  // e.g. "5-hour window resets 14:00"; empty when unknown
	CanRelogin    bool    // true for OAuth/device accounts
}

// HealthView is the live health of one credential serving one model.
type HealthView struct {
	Credential    string // account label or id
	Provider      string
	Model         string
	State         State
	P95Ms         float64
	InFlight      int
	FailureRate   float64   // 0..1 over the health window
	CooldownUntil time.Time // zero unless State is COOLDOWN
}

// Point is one sample of a time series.
type Point struct {
	Time  time.Time
	Value float64
}

// SpendDay is one day of spend split by provider id (USD).
type SpendDay struct {
	Day        time.Time
	ByProvider map[string]float64
}

// SpendShare is the spend of one model or one key over a range.
type SpendShare struct {
	Name     string
	USD      float64
	Requests int64
}

// KeyView is a virtual client key; the plaintext is never part of it.
type KeyView struct {
	ID        string
	Name      string
	Masked    string // e.g. "sk-cp-...4c1d"
	Created   time.Time
	BudgetUSD float64 // 0 means no budget
	Period    string  // budget period: "daily", "monthly" or "total"
	SpentUSD  float64 // in the current budget period
	RPM       int     // 0 means no limit
	TPM       int     // 0 means no limit
	Models    []string
	Expires   time.Time // zero means never
	Revoked   bool
}

// KeyForm is what the user fills in to create a virtual key.
type KeyForm struct {
	Name       string
	BudgetUSD  float64 // 0 means no budget
	Period     string  // "daily", "monthly" or "total"
	RPM        int
	TPM        int
	Models     []string // empty means all models
	ExpireDays int      // 0 means never
}

// RequestView is one recent request for the Logs tab; secrets in it are already masked by the backend.
type RequestView struct {
	RequestID  string
	Time       time.Time
	Method     string
	Path       string
	Model      string
	Provider   string
	Account    string
	Key        string // masked client key
	Status     int
	LatencyMs  int64
	TokensIn   int64
	TokensOut  int64
	CostUSD    float64
	Error      string
	Streamed   bool
	RetryCount int
}

// SettingsView is the editable part of the configuration, with the allowed choices.
type SettingsView struct {
	Port             int
	Strategy         string
	Strategies       []string // choices for Strategy
	HealthAware      bool
	KeystoreBackend  string
	KeystoreBackends []string // choices for KeystoreBackend
	StartAtLogin     bool
}

// LoginKind says how a provider logs in.
type LoginKind string

// Login kinds.
const (
	LoginBrowser LoginKind = "browser" // PKCE with a loopback callback; a redirect URL can be pasted
	LoginDevice  LoginKind = "device"  // device code shown to the user
)

// ProviderView is a provider the user can log in to.
type ProviderView struct {
	ID    string
	Name  string // display name, e.g. "Claude Code"
	Login LoginKind
}

// LoginState is the progress of one login flow.
type LoginState string

// Login states.
const (
	LoginPending   LoginState = "pending"
	LoginSucceeded LoginState = "succeeded"
	LoginFailed    LoginState = "failed"
	LoginCancelled LoginState = "cancelled"
)

// LoginView is one login flow in progress or finished.
type LoginView struct {
	ID              string
	Provider        string
	Kind            LoginKind
	URL             string // browser flow: the authorization URL to open
	VerificationURI string // device flow: where to enter the code
	UserCode        string // device flow: the code to enter
	State           LoginState
	Message         string // failure reason or the account label on success
}

// EventKind says which part of the view changed.
type EventKind string

// Event kinds.
const (
	EventStatus       EventKind = "status"
	EventAccounts     EventKind = "accounts"
	EventHealth       EventKind = "health"
	EventSpend        EventKind = "spend"
	EventKeys         EventKind = "keys"
	EventLogs         EventKind = "logs"
	EventSettings     EventKind = "settings"
	EventLogin        EventKind = "login"
	EventNotification EventKind = "notification"
	// EventDialog asks the user to read something now (Title, Body): the dashboard opens with a dialog,
	// e.g. when the OS keychain is locked and logins are kept in the encrypted file store instead.
	EventDialog EventKind = "dialog"
)

// Event tells the UI that something changed. The backend merges and rate-limits them; ui refreshes the
// named part on each (and rate-limits again on its side).
type Event struct {
	Kind    EventKind
	LoginID string // EventLogin: the flow that changed
	Title   string // EventNotification
	Body    string // EventNotification
	Key     string // EventNotification: dedupe key; empty means Title
}

// StatusSource reports the proxy's status and its client key.
type StatusSource interface {
	Status() StatusView
	// ClientKey returns the real client API key, only for copying to the clipboard.
	ClientKey() string
}

// Monitor reports accounts, health, traffic and recent requests.
type Monitor interface {
	Accounts() []AccountView
	Health() []HealthView
	// RequestsPerMinute returns one point per minute for the last minutes, oldest first.
	RequestsPerMinute(minutes int) []Point
	// LatencyP95PerMinute returns the p95 latency in ms per minute for the last minutes, oldest first.
	LatencyP95PerMinute(minutes int) []Point
	RecentRequests(n int) []RequestView
	// RequestBodies returns what the request log kept of the request with this id.
	RequestBodies(requestID string) (RequestBodies, error)
}

// RequestBodies is what the request log kept of one request: its bodies, masked and cut to the
// configured size.
type RequestBodies struct {
	Enabled  bool // the request log is on ([request-log] enable)
	Logged   bool // the log holds this request
	Request  string
	Response string
}

// SpendSource reports spend from the store.
type SpendSource interface {
	// SpendDaily returns one entry per day for the last days, oldest first.
	SpendDaily(days int) []SpendDay
	SpendByModel(days int) []SpendShare
	SpendByKey(days int) []SpendShare
}

// KeyManager lists, creates and revokes virtual keys.
type KeyManager interface {
	Keys() []KeyView
	// CreateKey returns the key's plaintext, which is shown once and never again.
	CreateKey(KeyForm) (string, error)
	RevokeKey(id string) error
}

// AccountManager enables, disables and removes accounts.
type AccountManager interface {
	DisableAccount(id string, disabled bool) error
	RemoveAccount(id string) error
}

// LoginManager runs login flows.
type LoginManager interface {
	Providers() []ProviderView
	StartLogin(provider string) (LoginView, error)
	LoginStatus(id string) LoginView
	// SubmitRedirect completes a browser flow with the redirect URL the user pasted.
	SubmitRedirect(id, url string) error
	CancelLogin(id string)
}

// SettingsManager reads and applies settings.
type SettingsManager interface {
	Settings() SettingsView
	ApplySettings(SettingsView) error
}

// Lifecycle pauses, resumes and stops the proxy and delivers change events.
type Lifecycle interface {
	Pause()
	Resume()
	// Events is closed when the backend shuts down.
	Events() <-chan Event
	// Quit stops the proxy; the UI quits the Fyne app afterwards.
	Quit()
}

// Backend is everything the UI needs from the program. Every method may block on I/O and is called off
// the UI goroutine.
type Backend interface {
	StatusSource
	Monitor
	SpendSource
	KeyManager
	AccountManager
	LoginManager
	SettingsManager
	Lifecycle
}
