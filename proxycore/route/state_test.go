package route

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestStateNames(t *testing.T) {
	for s, want := range map[State]string{Healthy: "HEALTHY", Degraded: "DEGRADED", Cooldown: "COOLDOWN", Error: "ERROR", State(42): "UNKNOWN"} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestSnapshotJSON(t *testing.T) {
	r, fc := newRouter(t, nil)
	fc.Set(base)
	do(r, Entry{CredentialID: "kiro:x", Provider: "kiro", Model: "claude-sonnet-4-5"},
		Outcome{Status: 429, CooldownUntil: base.Add(time.Minute)})
	raw, err := json.Marshal(r.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, want := range []string{`"credential_id":"kiro:x"`, `"state":"HEALTHY"`, `"state":"COOLDOWN"`,
		`"cooldown_until":"2026-03-04T05:07:07Z"`, `"last_status":429`, `"last_error":"429 Too Many Requests"`} {
		if !strings.Contains(s, want) {
			t.Errorf("snapshot JSON lacks %s: %s", want, s)
		}
	}
}
