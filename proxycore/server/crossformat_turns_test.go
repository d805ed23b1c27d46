package server

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// TestCrossFormatToolResults sends a second turn (two tool calls and their results) in every client format
// to every upstream format and checks that each result reaches the upstream linked to its call.
func TestCrossFormatToolResults(t *testing.T) {
	m := newXMatrix(t, "")
	bodies := map[string]func(model string) (string, string){
		"chat": func(model string) (string, string) {
			return "/v1/chat/completions", `{"model":"` + model + `","messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_A1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_B2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_A1","content":"sunny"},{"role":"tool","tool_call_id":"call_B2","content":"noon"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{}}}}]}`
		},
		"claude": func(model string) (string, string) {
			return "/v1/messages", `{"model":"` + model + `","max_tokens":100,"messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_A1","name":"get_weather","input":{"city":"Paris"}},{"type":"tool_use","id":"toolu_B2","name":"get_time","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_A1","content":"sunny"},{"type":"tool_result","tool_use_id":"toolu_B2","content":[{"type":"text","text":"noon"}]}]}],"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},{"name":"get_time","input_schema":{"type":"object","properties":{}}}]}`
		},
		"responses": func(model string) (string, string) {
			return "/v1/responses", `{"model":"` + model + `","input":[{"role":"user","content":"weather?"},{"type":"function_call","call_id":"call_A1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},{"type":"function_call","call_id":"call_B2","name":"get_time","arguments":"{}"},{"type":"function_call_output","call_id":"call_A1","output":"sunny"},{"type":"function_call_output","call_id":"call_B2","output":"noon"}],"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}},{"type":"function","name":"get_time","parameters":{"type":"object","properties":{}}}]}`
		},
		"gemini": func(model string) (string, string) {
			return "/v1beta/models/" + model + ":generateContent", `{"contents":[{"role":"user","parts":[{"text":"weather?"}]},{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},{"functionCall":{"name":"get_time","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"sunny"}}},{"functionResponse":{"name":"get_time","response":{"result":"noon"}}}]}],"tools":[{"functionDeclarations":[{"name":"get_weather","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"}}}},{"name":"get_time"}]}]}`
		},
	}
	for _, cl := range []string{"chat", "claude", "responses", "gemini"} {
		for _, up := range m.ups {
			t.Run(cl+"/"+up.name, func(t *testing.T) {
				path, body := bodies[cl](up.model)
				before := up.up.Hits()
				resp := m.p.do(t, "POST", path, body)
				if rb := readAll(t, resp); resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, rb)
				}
				sent := up.up.Requests()[before].Body
				var v any
				if err := json.Unmarshal(sent, &v); err != nil {
					t.Fatal(err)
				}
				var calls, results []string
				walkToolLinks(v, &calls, &results)
				sort.Strings(calls)
				sort.Strings(results)
				if len(calls) != 2 || fmt.Sprint(calls) != fmt.Sprint(results) {
					t.Errorf("calls %v and results %v are not linked one to one: %s", calls, results, sent)
				}
				for _, w := range []string{"sunny", "noon", "Paris"} {
					if !strings.Contains(string(sent), w) {
						t.Errorf("%q is missing upstream: %s", w, sent)
					}
				}
			})
		}
	}
}

// walkToolLinks collects the keys that link tool calls to results in any format: ids for OpenAI and
// Anthropic, function names for Gemini.
func walkToolLinks(v any, calls, results *[]string) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			walkToolLinks(e, calls, results)
		}
	case map[string]any:
		str := func(k string) string { s, _ := x[k].(string); return s }
		switch {
		case str("tool_call_id") != "":
			*results = append(*results, str("tool_call_id"))
		case str("type") == "function" && x["function"] != nil && str("id") != "":
			*calls = append(*calls, str("id"))
		case str("type") == "tool_use":
			*calls = append(*calls, str("id"))
		case str("type") == "tool_result":
			*results = append(*results, str("tool_use_id"))
		case str("type") == "function_call":
			*calls = append(*calls, str("call_id"))
		case str("type") == "function_call_output":
			*results = append(*results, str("call_id"))
		}
		if fc, ok := x["functionCall"].(map[string]any); ok {
			n, _ := fc["name"].(string)
			*calls = append(*calls, n)
		}
		if fr, ok := x["functionResponse"].(map[string]any); ok {
			n, _ := fr["name"].(string)
			*results = append(*results, n)
		}
		for k, e := range x {
			if k != "functionCall" && k != "functionResponse" {
				walkToolLinks(e, calls, results)
			}
		}
	}
}
