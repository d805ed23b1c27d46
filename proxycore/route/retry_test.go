package route

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRetryable(t *testing.T) {
	tests := []struct {
		name   string
		policy RetryPolicy
		status int
		want   bool
	}{
		{"default list 429", RetryPolicy{}, 429, true},
		{"default list 503", RetryPolicy{}, 503, true},
		{"default list 400", RetryPolicy{}, 400, false},
		{"default list 501", RetryPolicy{}, 501, false},
		{"no response", RetryPolicy{RetryOn: []int{}}, 0, true},
		{"custom list", RetryPolicy{RetryOn: []int{529}}, 529, true},
		{"custom list excludes default", RetryPolicy{RetryOn: []int{529}}, 429, false},
		{"empty list", RetryPolicy{RetryOn: []int{}}, 429, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Retryable(tt.status); got != tt.want {
				t.Fatalf("Retryable(%d) = %v, want %v", tt.status, got, tt.want)
			}
		})
	}
}

func TestDefaultRetryOnMatchesNilList(t *testing.T) {
	explicit := RetryPolicy{RetryOn: DefaultRetryOn()}
	for status := 100; status < 600; status++ {
		if (RetryPolicy{}).Retryable(status) != explicit.Retryable(status) {
			t.Fatalf("status %d: nil RetryOn disagrees with DefaultRetryOn()", status)
		}
	}
}

func TestRetryableResponse(t *testing.T) {
	p := DefaultRetryPolicy()
	tests := []struct {
		name   string
		status int
		header string
		want   bool
	}{
		{"no header follows the list", 503, "", true},
		{"upstream's no is for its own credential", 503, "false", true},
		{"upstream says yes", 409, "true", true},
		{"unknown value follows the list", 400, "maybe", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("x-should-retry", tt.header)
			}
			if got := p.RetryableResponse(tt.status, h); got != tt.want {
				t.Fatalf("RetryableResponse(%d, %q) = %v, want %v", tt.status, tt.header, got, tt.want)
			}
		})
	}
}

func TestBackoffGrowth(t *testing.T) {
	p := RetryPolicy{InitialBackoff: 500 * time.Millisecond, MaxBackoff: 8 * time.Second, Multiplier: 2}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, w := range want {
		if got := p.Backoff(i+1, 0.5); got != w {
			t.Fatalf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := p.Backoff(1000, 0.5); got != 8*time.Second {
		t.Fatalf("Backoff(1000) = %v, want the cap", got)
	}
	if got := (RetryPolicy{}).Backoff(2, 0); got != time.Second {
		t.Fatalf("zero policy Backoff(2) = %v, want 1s from the defaults", got)
	}
	if got := (RetryPolicy{Multiplier: 0.5}).Backoff(3, 0); got != 500*time.Millisecond {
		t.Fatalf("a multiplier below 1 must not shrink the backoff: %v", got)
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	p := RetryPolicy{InitialBackoff: time.Second, MaxBackoff: 8 * time.Second, Multiplier: 2, Jitter: 0.2}
	for attempt := 1; attempt <= 5; attempt++ {
		nominal := p.Backoff(attempt, 0.5)
		lo := time.Duration(float64(nominal) * 0.8)
		hi := min(time.Duration(float64(nominal)*1.2), p.MaxBackoff)
		minSeen, maxSeen := time.Duration(1<<62), time.Duration(0)
		for i := 0; i <= 100; i++ {
			d := p.Backoff(attempt, float64(i)/100)
			if d < lo || d > hi {
				t.Fatalf("attempt %d rnd %.2f: %v outside [%v, %v]", attempt, float64(i)/100, d, lo, hi)
			}
			minSeen, maxSeen = min(minSeen, d), max(maxSeen, d)
		}
		if minSeen != lo || maxSeen != hi {
			t.Fatalf("attempt %d: jitter spans [%v, %v], want [%v, %v]", attempt, minSeen, maxSeen, lo, hi)
		}
	}
	if d := p.Backoff(1, 7); d != 1200*time.Millisecond {
		t.Fatalf("out-of-range rnd must clamp: %v", d)
	}
}

func TestRetryPolicyValidate(t *testing.T) {
	if err := DefaultRetryPolicy().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	tests := []struct {
		name string
		p    RetryPolicy
		key  string
	}{
		{"negative retries", RetryPolicy{MaxRetries: -1}, "retry-policy.max-retries"},
		{"jitter above one", RetryPolicy{Jitter: 1.5}, "retry-policy.jitter"},
		{"bad status", RetryPolicy{RetryOn: []int{42}}, "retry-policy.retry-on"},
		{"negative backoff", RetryPolicy{InitialBackoff: -1}, "retry-policy.initial-backoff-ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tt.key)
			}
		})
	}
}
