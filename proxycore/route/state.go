package route

// State is the health state of a credential or of a (credential, model) pair.
type State int

// The states, from best to worst. The zero value is Healthy.
const (
	// Healthy: too few requests in the window to judge, or a failure rate below the degraded threshold.
	Healthy State = iota
	// Degraded: failure rate at or above Health.DegradedThreshold.
	Degraded
	// Cooldown: the upstream said to wait (429, quota) or failed with a 5xx; it ends by itself.
	Cooldown
	// Error: failure rate at or above Health.FailureThreshold, or marked with MarkError (for example a
	// login that must be repeated) until ClearError or a success.
	Error
)

// String returns the upper-case name shown in the UI and the management API, e.g. "HEALTHY".
func (s State) String() string {
	switch s {
	case Healthy:
		return "HEALTHY"
	case Degraded:
		return "DEGRADED"
	case Cooldown:
		return "COOLDOWN"
	case Error:
		return "ERROR"
	default:
		return "UNKNOWN"
	}
}

// MarshalText encodes the state as its String form, so JSON shows "HEALTHY" rather than 0.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// class is the routing view of a candidate: how eligible it is for Pick. Lower is better.
type class uint8

const (
	classHealthy   class = 1 << iota // HEALTHY
	classDegraded                    // DEGRADED
	classRateError                   // ERROR from the failure rate alone: used when nothing better exists
	classBlocked                     // COOLDOWN, or ERROR set by MarkError / an auth failure: never picked
)
