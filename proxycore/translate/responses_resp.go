package translate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

type responsesUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	OutputTokens       int64 `json:"output_tokens"`
	TotalTokens        int64 `json:"total_tokens"`
	InputTokensDetails *struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"input_tokens_details"`
	OutputTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

func (u *responsesUsage) canonical() llm.Usage {
	out := llm.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens}
	if d := u.InputTokensDetails; d != nil {
		out.CachedInputTokens, out.CacheCreationTokens = d.CachedTokens, d.CacheWriteTokens
	}
	if d := u.OutputTokensDetails; d != nil {
		out.ReasoningTokens = d.ReasoningTokens
	}
	return out
}

// appendResponsesUsage writes Responses usage (WIRE.md §2.3).
func appendResponsesUsage(b []byte, u llm.Usage) []byte {
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, u.InputTokens)
	b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, u.CachedInputTokens)
	if u.CacheCreationTokens > 0 {
		b = append(b, `,"cache_write_tokens":`...)
		b = appendInt(b, u.CacheCreationTokens)
	}
	b = append(b, `},"output_tokens":`...)
	b = appendInt(b, u.OutputTokens)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
	b = appendInt(b, u.ReasoningTokens)
	b = append(b, `},"total_tokens":`...)
	b = appendInt(b, u.Total())
	return append(b, '}')
}

type responsesOutputItem struct {
	Type             string             `json:"type"`
	ID               string             `json:"id"`
	CallID           string             `json:"call_id"`
	Name             string             `json:"name"`
	Arguments        string             `json:"arguments"`
	Content          []responsesPart    `json:"content"`
	Summary          []responsesSummary `json:"summary"`
	EncryptedContent string             `json:"encrypted_content"`
}

type responsesResponse struct {
	ID                string                `json:"id"`
	CreatedAt         int64                 `json:"created_at"`
	Status            string                `json:"status"`
	Model             string                `json:"model"`
	Output            []responsesOutputItem `json:"output"`
	Usage             *responsesUsage       `json:"usage"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// canonical converts a response object; it is shared by the non-streaming decoder and the terminal
// stream events.
func (r *responsesResponse) canonical() *llm.Response {
	resp := &llm.Response{ID: r.ID, Model: r.Model, Created: r.CreatedAt, Message: llm.Message{Role: llm.RoleAssistant}}
	if r.Usage != nil {
		resp.Usage = r.Usage.canonical()
	}
	calls := false
	for _, it := range r.Output {
		switch it.Type {
		case "message":
			for _, p := range it.Content {
				switch p.Type {
				case "output_text":
					resp.Message.Parts = append(resp.Message.Parts, llm.Part{Kind: llm.PartText, Text: p.Text})
				case "refusal":
					resp.Message.Parts = append(resp.Message.Parts, llm.Part{Kind: llm.PartRefusal, Text: p.Refusal})
				}
			}
		case "function_call":
			calls = true
			resp.Message.Parts = append(resp.Message.Parts, llm.Part{Kind: llm.PartToolCall,
				ToolCall: &llm.ToolCall{ID: it.CallID, Name: it.Name, Arguments: argsObject(it.Arguments)}})
		case "reasoning":
			var text []string
			for _, s := range it.Summary {
				text = append(text, s.Text)
			}
			if len(text) == 0 {
				for _, p := range it.Content {
					text = append(text, p.Text)
				}
			}
			resp.Message.Parts = append(resp.Message.Parts, llm.Part{Kind: llm.PartThinking, Thinking: &llm.Thinking{
				Text: strings.Join(text, "\n\n"), Signature: it.EncryptedContent, ID: it.ID,
				SignatureFormat: sigFormat(it.EncryptedContent, llm.FormatResponses)}})
		}
	}
	resp.Finish = responsesFinish(r.Status, r.IncompleteDetails != nil && r.IncompleteDetails.Reason == "content_filter", calls)
	return resp
}

// responsesFinish maps status and incomplete_details.reason (WIRE.md §5.4).
func responsesFinish(status string, filtered, calls bool) llm.FinishReason {
	switch status {
	case "incomplete":
		if filtered {
			return llm.FinishContentFilter
		}
		return llm.FinishLength
	case "failed", "cancelled":
		return llm.FinishError
	}
	if calls {
		return llm.FinishToolCalls
	}
	return llm.FinishStop
}

func (c *responsesCodec) DecodeResponse(body []byte) (*llm.Response, error) {
	var in responsesResponse
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("decoding responses response: %w", err)
	}
	return in.canonical(), nil
}

func (c *responsesCodec) respID(id string) string {
	if id == "" {
		return c.env.newID("resp_")
	}
	if strings.HasPrefix(id, "resp_") {
		return id
	}
	return "resp_" + id
}

// responseStatus returns the Responses status and incomplete_details for a finish reason.
func responseStatus(f llm.FinishReason) (string, string) {
	switch f {
	case llm.FinishLength:
		return "incomplete", `{"reason":"max_output_tokens"}`
	case llm.FinishContentFilter:
		return "incomplete", `{"reason":"content_filter"}`
	}
	return "completed", "null"
}

// appendResponseObject writes a full response object around already-encoded output items.
func (c *responsesCodec) appendResponseObject(b []byte, id, model string, created int64, status, incomplete string,
	output [][]byte, usage *llm.Usage, errJSON []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, id)
	b = append(b, `,"object":"response","created_at":`...)
	b = appendInt(b, created)
	b = append(b, `,"status":`...)
	b = appendString(b, status)
	b = append(b, `,"error":`...)
	if errJSON != nil {
		b = append(b, errJSON...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"incomplete_details":`...)
	b = append(b, incomplete...)
	b = append(b, `,"model":`...)
	b = appendString(b, model)
	b = append(b, `,"output":[`...)
	for i, it := range output {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	b = append(b, `],"parallel_tool_calls":true,"tool_choice":"auto","tools":[],"usage":`...)
	if usage != nil {
		b = appendResponsesUsage(b, *usage)
	} else {
		b = append(b, "null"...)
	}
	return append(b, '}')
}

func (c *responsesCodec) EncodeResponse(resp *llm.Response) ([]byte, error) {
	var items [][]byte
	var text []byte
	flushText := func() {
		if text != nil {
			items = append(items, appendMessageItem(nil, c.env.newID("msg_"), text, "completed"))
			text = nil
		}
	}
	for _, p := range resp.Message.Parts {
		switch p.Kind {
		case llm.PartText, llm.PartRefusal:
			text = append(text, p.Text...)
		case llm.PartRedactedThinking:
			if p.Thinking.SignatureFormat == llm.FormatClaude {
				flushText()
				items = append(items, appendReasoningItem(nil, c.env.newID("rs_"), "", foreignSigPrefix+redactedFormat+":"+p.Thinking.Data))
			}
		case llm.PartThinking:
			flushText()
			items = append(items, appendReasoningItem(nil, orDefault(p.Thinking.ID, c.env.newID("rs_")), p.Thinking.Text,
				responsesEncrypted(p.Thinking)))
		case llm.PartToolCall:
			flushText()
			items = append(items, appendFunctionCallItem(nil, c.env.newID("fc_"), p.ToolCall.ID, p.ToolCall.Name,
				argsString(p.ToolCall.Arguments), "completed"))
		}
	}
	flushText()
	created := resp.Created
	if created == 0 {
		created = c.env.now()
	}
	status, incomplete := responseStatus(resp.Finish)
	return c.appendResponseObject(nil, c.respID(resp.ID), resp.Model, created, status, incomplete, items, &resp.Usage, nil), nil
}

// redactedFormat tags Anthropic redacted_thinking data wrapped into a Responses encrypted_content.
const redactedFormat = "claude_redacted"

// responsesEncrypted is the encrypted_content handed to a Responses client: OpenAI's own as is, another
// vendor's signature wrapped so it can find its way back (and is never sent to OpenAI).
func responsesEncrypted(t *llm.Thinking) string {
	if t.Signature == "" {
		return ""
	}
	if t.SignatureFormat == llm.FormatResponses {
		return t.Signature
	}
	return foreignSigPrefix + string(t.SignatureFormat) + ":" + t.Signature
}

func appendMessageItem(b []byte, id string, text []byte, status string) []byte {
	b = append(b, `{"type":"message","id":`...)
	b = appendString(b, id)
	b = append(b, `,"status":`...)
	b = appendString(b, status)
	b = append(b, `,"role":"assistant","content":[{"type":"output_text","text":`...)
	b = appendString(b, string(text))
	return append(b, `,"annotations":[]}]}`...)
}

func appendReasoningItem(b []byte, id, summary, encrypted string) []byte {
	b = append(b, `{"type":"reasoning","id":`...)
	b = appendString(b, id)
	b = append(b, `,"summary":[`...)
	if summary != "" {
		b = append(b, `{"type":"summary_text","text":`...)
		b = appendString(b, summary)
		b = append(b, '}')
	}
	b = append(b, ']')
	if encrypted != "" {
		b = append(b, `,"encrypted_content":`...)
		b = appendString(b, encrypted)
	}
	return append(b, '}')
}

func appendFunctionCallItem(b []byte, id, callID, name, args, status string, namespace ...string) []byte {
	b = append(b, `{"type":"function_call","id":`...)
	b = appendString(b, id)
	b = append(b, `,"call_id":`...)
	b = appendString(b, callID)
	b = append(b, `,"name":`...)
	b = appendString(b, name)
	if len(namespace) > 0 && namespace[0] != "" {
		b = append(b, `,"namespace":`...)
		b = appendString(b, namespace[0])
	}
	b = append(b, `,"arguments":`...)
	b = appendString(b, args)
	b = append(b, `,"status":`...)
	b = appendString(b, status)
	return append(b, '}')
}

func (c *responsesCodec) DecodeError(status int, h http.Header, body []byte) *llm.Error {
	return decodeOpenAIError(status, h, body, c.env)
}

func (c *responsesCodec) EncodeError(e *llm.Error) []byte { return openAIErrorBody(e) }
