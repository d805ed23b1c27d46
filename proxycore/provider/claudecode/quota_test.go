package claudecode

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cliproxy/cliproxy/proxycore/provider"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/accttest"
	"github.com/cliproxy/cliproxy/proxycore/proxytest"
)

func TestQuotaFromUnifiedHeaders(t *testing.T) {
	up := proxytest.NewClaudeCode(t, goodToken)
	e := newExec(t, up.URL, &accttest.Tokens{Current: accttest.Bearer(goodToken)})
	qr := e.(provider.QuotaReporter)
	if q := qr.Quota(); !q.Updated.IsZero() || len(q.Items) != 0 {
		t.Fatalf("quota before any call: %+v", q)
	}
	reset5h := time.Unix(1_900_000_000, 0)
	reset7d := time.Unix(1_900_300_000, 0)
	up.SetUnified(proxytest.ClaudeUnified{Status: "allowed_warning", FiveHour: 0.92, SevenDay: 0.4,
		FiveHourReset: reset5h, SevenDayReset: reset7d})
	resp, err := e.Do(t.Context(), &provider.Call{Op: provider.OpMessages, Body: []byte(messagesBody)})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	q := qr.Quota()
	if q.Updated.IsZero() || len(q.Items) != 2 {
		t.Fatalf("quota %+v", q)
	}
	want := []provider.QuotaItem{
		{Name: "5h", UsedPercent: 92, Remaining: -1, Limit: -1, ResetAt: reset5h, Status: "allowed"},
		{Name: "7d", UsedPercent: 40, Remaining: -1, Limit: -1, ResetAt: reset7d, Status: "allowed"},
	}
	for i, w := range want {
		g := q.Items[i]
		if g.Name != w.Name || !near(g.UsedPercent, w.UsedPercent) || !g.ResetAt.Equal(w.ResetAt) || g.Status != w.Status || g.Limit != -1 {
			t.Errorf("item %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestParseUnifiedOverallOnly(t *testing.T) {
	h := http.Header{}
	h.Set("anthropic-ratelimit-unified-status", "rejected")
	h.Set("anthropic-ratelimit-unified-reset", "1900000000")
	q, ok := parseUnified(h, time.Unix(1, 0))
	if !ok || len(q.Items) != 1 || q.Items[0].Status != "rejected" || q.Items[0].ResetAt.Unix() != 1_900_000_000 {
		t.Fatalf("%+v %v", q, ok)
	}
	if _, ok := parseUnified(http.Header{}, time.Unix(1, 0)); ok {
		t.Error("no headers should give no quota")
	}
}

func near(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

func TestWithSystemPrefix(t *testing.T) {
	prefixed := `[{"type":"text","text":"` + SystemPrefix + `"}`
	cases := []struct {
		name, in, wantSystem string
		same                 bool
	}{
		{"absent", `{"model":"m"}`, prefixed + `]`, false},
		{"null", `{"system":null,"model":"m"}`, prefixed + `]`, false},
		{"string", `{"system":"Be brief.","model":"m"}`, prefixed + `,{"type":"text","text":"Be brief."}]`, false},
		{"empty string", `{"system":"","model":"m"}`, prefixed + `]`, false},
		{"blocks keep cache_control", `{"system":[{"type":"text","text":"Rules","cache_control":{"type":"ephemeral"}}]}`,
			prefixed + `,{"type":"text","text":"Rules","cache_control":{"type":"ephemeral"}}]`, false},
		{"empty blocks", `{"system":[]}`, prefixed + `]`, false},
		{"already prefixed string", `{"system":"` + SystemPrefix + ` More."}`, "", true},
		{"already prefixed blocks", `{"system":` + prefixed + `]}`, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := withSystemPrefix([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if tc.same {
				if string(out) != tc.in {
					t.Errorf("changed: %s", out)
				}
				return
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("invalid JSON %s: %v", out, err)
			}
			if got := string(m["system"]); got != tc.wantSystem {
				t.Errorf("system = %s\nwant     %s", got, tc.wantSystem)
			}
			if strings.Contains(tc.in, `"model"`) && string(m["model"]) != `"m"` {
				t.Errorf("model lost: %s", out)
			}
		})
	}
}
