package translate

import (
	"hash/fnv"
	"strconv"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// openAIMaxToolName is the function-name limit of the OpenAI formats (WIRE.md §1.3); Anthropic allows
// longer names (MCP tools often exceed 64 characters), so such names are shortened on the way to OpenAI
// and restored on the way back.
const openAIMaxToolName = 64

// shortToolName returns name, or when it is longer than max a deterministic shortened form: a prefix
// plus "_" and 8 hex digits of its FNV-1a hash.
func shortToolName(name string, max int) string {
	if len(name) <= max {
		return name
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	sum := strconv.FormatUint(uint64(h.Sum32()), 16)
	for len(sum) < 8 {
		sum = "0" + sum
	}
	return name[:max-9] + "_" + sum
}

// shortenToolNames returns req unchanged when every tool name fits max, or a copy whose tool
// declarations, historical tool calls and tool choice use shortened names. req itself is not modified.
func shortenToolNames(req *llm.Request, max int) *llm.Request {
	long := false
	for _, t := range req.Tools {
		if len(t.Name) > max {
			long = true
			break
		}
	}
	if !long {
		return req
	}
	cp := *req
	cp.Tools = append([]llm.Tool(nil), req.Tools...)
	for i := range cp.Tools {
		cp.Tools[i].Name = shortToolName(cp.Tools[i].Name, max)
	}
	if tc := req.ToolChoice; tc != nil {
		c := *tc
		c.Name = shortToolName(c.Name, max)
		c.Allowed = nil
		for _, n := range tc.Allowed {
			c.Allowed = append(c.Allowed, shortToolName(n, max))
		}
		cp.ToolChoice = &c
	}
	cp.Messages = append([]llm.Message(nil), req.Messages...)
	for i := range cp.Messages {
		m := &cp.Messages[i]
		copied := false
		for j, p := range m.Parts {
			if p.Kind != llm.PartToolCall || len(p.ToolCall.Name) <= max {
				continue
			}
			if !copied {
				m.Parts = append([]llm.Part(nil), m.Parts...)
				copied = true
			}
			call := *p.ToolCall
			call.Name = shortToolName(call.Name, max)
			m.Parts[j].ToolCall = &call
		}
	}
	return &cp
}

// restoreToolName maps a shortened tool name from the upstream back to the client's declared name.
func restoreToolName(req *llm.Request, name string) string {
	if req == nil || len(name) != openAIMaxToolName {
		return name
	}
	for _, t := range req.Tools {
		if len(t.Name) > openAIMaxToolName && shortToolName(t.Name, openAIMaxToolName) == name {
			return t.Name
		}
	}
	return name
}

// RestoreToolNames rewrites, in a non-streaming response, tool-call names that were shortened for an
// OpenAI upstream back to the names declared in the client's request. Stream encoders do this themselves
// from the request they are given.
func RestoreToolNames(resp *llm.Response, req *llm.Request) {
	for i, p := range resp.Message.Parts {
		if p.Kind == llm.PartToolCall {
			if n := restoreToolName(req, p.ToolCall.Name); n != p.ToolCall.Name {
				call := *p.ToolCall
				call.Name = n
				resp.Message.Parts[i].ToolCall = &call
			}
		}
	}
}
