package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// routableModels lists the client-visible models with at least one credential that is usable now.
func (s *Server) routableModels(rt *runtime) []modelInfo {
	names := rt.catalog.Models()
	out := make([]modelInfo, 0, len(names))
	for _, name := range names {
		cands, _, err := rt.catalog.Resolve(name)
		if err != nil || len(cands) == 0 {
			continue
		}
		// EarliestRecovery sees cooldowns of single models on a credential too (a 429 usually cools down
		// only the model it was for), not just credential-wide ones; it answers "now" when one is usable.
		if t, ok := s.router.EarliestRecovery(cands); ok && !t.After(s.clock.Now()) {
			out = append(out, modelInfo{id: name, owner: cands[0].Provider})
		}
	}
	return out
}

type modelInfo struct{ id, owner string }

// handleModels answers GET /v1/models in the OpenAI list shape, or in Anthropic's shape when the caller
// sent anthropic-version (Claude clients list models that way, WIRE.md 3.7).
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	models := s.routableModels(s.rt.Load())
	created := s.clock.Now().Unix()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Anthropic-Version") != "" {
		type m struct {
			Type        string `json:"type"`
			ID          string `json:"id"`
			DisplayName string `json:"display_name"`
			CreatedAt   string `json:"created_at"`
		}
		data := make([]m, 0, len(models))
		for _, mi := range models {
			data = append(data, m{Type: "model", ID: mi.id, DisplayName: mi.id, CreatedAt: time.Unix(created, 0).UTC().Format(time.RFC3339)})
		}
		var first, last *string
		if len(data) > 0 {
			first, last = &data[0].ID, &data[len(data)-1].ID
		}
		_ = json.NewEncoder(w).Encode(struct {
			Data    []m     `json:"data"`
			HasMore bool    `json:"has_more"`
			FirstID *string `json:"first_id"`
			LastID  *string `json:"last_id"`
		}{data, false, first, last})
		return
	}
	type m struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	data := make([]m, 0, len(models))
	for _, mi := range models {
		data = append(data, m{ID: mi.id, Object: "model", Created: created, OwnedBy: mi.owner})
	}
	_ = json.NewEncoder(w).Encode(struct {
		Object string `json:"object"`
		Data   []m    `json:"data"`
	}{"list", data})
}

// handleModel answers GET /v1/models/{model}.
func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["model"]
	rt := s.rt.Load()
	cands, _, err := rt.catalog.Resolve(id)
	if err != nil || len(cands) == 0 {
		s.writeError(w, llm.FormatOpenAIChat, errModelNotFound(id))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "model", "created": s.clock.Now().Unix(), "owned_by": cands[0].Provider})
}

type geminiModel struct {
	Name                       string   `json:"name"`
	Version                    string   `json:"version"`
	DisplayName                string   `json:"displayName"`
	Description                string   `json:"description"`
	InputTokenLimit            int      `json:"inputTokenLimit"`
	OutputTokenLimit           int      `json:"outputTokenLimit"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
}

func newGeminiModel(mi modelInfo) geminiModel {
	return geminiModel{Name: "models/" + mi.id, Version: "001", DisplayName: mi.id, Description: "Served by " + mi.owner + " through cliproxy",
		InputTokenLimit: 1048576, OutputTokenLimit: 65536, SupportedGenerationMethods: []string{"generateContent", "streamGenerateContent", "countTokens"}}
}

// handleGeminiModels answers GET /v1beta/models in Gemini's shape (WIRE.md 4.6).
func (s *Server) handleGeminiModels(w http.ResponseWriter, r *http.Request) {
	models := s.routableModels(s.rt.Load())
	out := make([]geminiModel, 0, len(models))
	for _, mi := range models {
		out = append(out, newGeminiModel(mi))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		Models []geminiModel `json:"models"`
	}{out})
}

func (s *Server) handleGeminiModel(w http.ResponseWriter, r *http.Request, id string) {
	id = strings.TrimPrefix(id, "models/")
	cands, _, err := s.rt.Load().catalog.Resolve(id)
	if err != nil || len(cands) == 0 {
		s.writeError(w, llm.FormatGemini, errModelNotFound(id))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(newGeminiModel(modelInfo{id: id, owner: cands[0].Provider}))
}

// handleLiveness answers 200 while the process serves HTTP.
func (s *Server) handleLiveness(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// handleReadiness answers 200 when the configuration is loaded and at least one credential is usable,
// 503 otherwise, with a summary of each component.
func (s *Server) handleReadiness(w http.ResponseWriter, r *http.Request) {
	rt := s.rt.Load()
	total, usable := 0, 0
	for id := range rt.execs {
		total++
		if s.router.Available(id) {
			usable++
		}
	}
	status, code := "ready", http.StatusOK
	if usable == 0 {
		status, code = "not_ready", http.StatusServiceUnavailable
	}
	comps := map[string]any{
		"config":      map[string]any{"status": "ok"},
		"credentials": map[string]any{"status": okIf(usable > 0), "total": total, "usable": usable},
		"models":      map[string]any{"status": okIf(len(rt.catalog.Models()) > 0), "count": len(rt.catalog.Models())},
	}
	for name, c := range s.components() {
		comps[name] = c
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "components": comps})
}

func okIf(b bool) string {
	if b {
		return "ok"
	}
	return "unavailable"
}
