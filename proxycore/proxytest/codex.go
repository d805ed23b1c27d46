package proxytest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ChatGPT Codex backend wire facts (PROVIDERS.md "codex"):
//   - POST {base}/responses with base https://chatgpt.com/backend-api/codex; the Responses API
//     streaming format of WIRE.md §2.4, always streamed.
//   - Refusals are {"detail": "..."} with 400: "Stream must be set to true", "Store must be set to
//     false", "Instructions are required", "Unsupported parameter: max_output_tokens" (as reported
//     by Codex client projects in 2025-2026, e.g. RayBytes/ChatMock #103, vybestack/llxprt-code
//     #1197).
//   - With store=false the terminal response.completed carries "output": [] and the items come only
//     in response.output_item.done (NousResearch/hermes-agent #5689, bytedance/deer-flow #1928).
//   - Plan usage headers x-codex-{primary,secondary}-{used-percent,window-minutes,reset-after-seconds,
//     reset-at} (openai/codex codex-rs/codex-api/src/rate_limits.rs); primary is the 5 h window,
//     secondary the 7 d window.
//   - A usage limit is 429 {"error":{"type":"usage_limit_reached","message":...,"plan_type":...,
//     "resets_at":unix,"resets_in_seconds":N}} (openai/codex tests; route.CooldownFromResponse).

// CodexPath is the path prefix of the Codex fake; configure base-url = u.URL + CodexPath.
const CodexPath = "/backend-api/codex"

// NewCodex starts a fake of the ChatGPT Codex backend and closes it when the test ends. WithAPIKey makes
// it require that bearer token. Scripted replies work as for the Responses fake; a 429 reply answers
// with the usage-limit body (resets_in_seconds from RetryAfter, default 1 h). Successful answers carry
// the x-codex-* usage headers of CodexUsageHeaders unless Reply.Headers sets them.
func NewCodex(t testing.TB, opts ...Option) *Upstream {
	t.Helper()
	u := mustStart(t, vendorOpenAI, opts)
	// ServeMux registration is safe while serving; no request can reach the path before this returns.
	u.mux.HandleFunc("POST "+CodexPath+"/responses", u.openAIAuth(u.codexResponses))
	return u
}

// CodexUsage is one x-codex-* usage picture.
type CodexUsage struct {
	PrimaryUsedPercent, SecondaryUsedPercent float64
	PrimaryResetAfter, SecondaryResetAfter   time.Duration
}

// CodexUsageHeaders returns the x-codex-* headers for u: the primary window is 300 minutes, the
// secondary 10080 minutes.
func CodexUsageHeaders(u CodexUsage) http.Header {
	h := http.Header{}
	set := func(slot string, used float64, minutes int, after time.Duration) {
		h.Set("x-codex-"+slot+"-used-percent", strconv.FormatFloat(used, 'f', -1, 64))
		h.Set("x-codex-"+slot+"-window-minutes", strconv.Itoa(minutes))
		h.Set("x-codex-"+slot+"-reset-after-seconds", strconv.FormatInt(int64(after/time.Second), 10))
	}
	set("primary", u.PrimaryUsedPercent, 300, u.PrimaryResetAfter)
	set("secondary", u.SecondaryUsedPercent, 10080, u.SecondaryResetAfter)
	h.Set("x-codex-plan-type", "plus")
	h.Set("x-codex-active-limit", "codex")
	return h
}

var defaultCodexUsage = CodexUsageHeaders(CodexUsage{PrimaryUsedPercent: 12, SecondaryUsedPercent: 3,
	PrimaryResetAfter: 4 * time.Hour, SecondaryResetAfter: 6 * 24 * time.Hour})

// codexRequest holds the fields the backend insists on.
type codexRequest struct {
	Model        string          `json:"model"`
	Stream       *bool           `json:"stream"`
	Store        *bool           `json:"store"`
	Instructions json.RawMessage `json:"instructions"`
	MaxOutput    json.RawMessage `json:"max_output_tokens"`
	Input        json.RawMessage `json:"input"`
}

func writeCodexDetail(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, encode(obj{{"detail", detail}}))
}

func (u *Upstream) codexResponses(w http.ResponseWriter, r *http.Request) {
	var req codexRequest
	var extra responsesRequest
	if json.Unmarshal(bodyOf(r), &req) != nil || json.Unmarshal(bodyOf(r), &extra) != nil {
		writeCodexDetail(w, http.StatusBadRequest, "Invalid JSON body")
		return
	}
	switch instr := strings.TrimSpace(string(req.Instructions)); {
	case req.Stream == nil || !*req.Stream:
		writeCodexDetail(w, http.StatusBadRequest, "Stream must be set to true")
		return
	case req.Store == nil || *req.Store:
		writeCodexDetail(w, http.StatusBadRequest, "Store must be set to false")
		return
	case instr == "" || instr == "null" || instr == `""`:
		writeCodexDetail(w, http.StatusBadRequest, "Instructions are required")
		return
	case len(req.MaxOutput) > 0:
		writeCodexDetail(w, http.StatusBadRequest, "Unsupported parameter: max_output_tokens")
		return
	case req.Model == "" || len(req.Input) == 0:
		writeCodexDetail(w, http.StatusBadRequest, "Missing required parameter: 'model' or 'input'")
		return
	}
	rep, _, ok := u.begin(w, r, req.Model, func(rep *Reply) { u.codexError(w, rep) })
	if !ok {
		return
	}
	h := w.Header()
	if _, scripted := h["X-Codex-Primary-Used-Percent"]; !scripted {
		for k, v := range defaultCodexUsage {
			h[k] = v
		}
	}
	h.Set("x-request-id", "req_fake")
	run := &respRun{
		u: u, rep: &rep, model: req.Model, id: u.newID("resp_"), created: u.clk.Now().Unix(), req: extra,
		msgID: u.newID("msg_"), rsID: u.newID("rs_"), emptyFinal: true,
	}
	for range rep.ToolCalls {
		run.fcIDs = append(run.fcIDs, u.newID("fc_"))
	}
	run.stream(w, r)
}

// codexError answers a scripted error: the usage-limit body for 429, the detail shape otherwise.
func (u *Upstream) codexError(w http.ResponseWriter, rep *Reply) {
	rep.copyHeaders(w)
	if rep.Status != http.StatusTooManyRequests {
		msg := rep.ErrorMessage
		if msg == "" {
			msg = http.StatusText(rep.Status)
		}
		writeCodexDetail(w, rep.Status, msg)
		return
	}
	wait := rep.RetryAfter
	if wait <= 0 {
		wait = time.Hour
	}
	msg := rep.ErrorMessage
	if msg == "" {
		msg = "The usage limit has been reached"
	}
	for k, v := range CodexUsageHeaders(CodexUsage{PrimaryUsedPercent: 100, SecondaryUsedPercent: 40,
		PrimaryResetAfter: wait, SecondaryResetAfter: 5 * 24 * time.Hour}) {
		w.Header()[k] = v
	}
	writeJSON(w, http.StatusTooManyRequests, encode(obj{{"error", obj{
		{"type", "usage_limit_reached"}, {"message", msg}, {"plan_type", "plus"},
		{"resets_at", u.clk.Now().Add(wait).Unix()}, {"resets_in_seconds", int64(wait / time.Second)},
	}}}))
}
