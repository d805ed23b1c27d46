package kiro

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/cliproxy/cliproxy/proxycore/llm"
	"github.com/cliproxy/cliproxy/proxycore/provider/internal/acct"
)

// The CodeWhisperer generateAssistantResponse body, as the Kiro IDE sends it and public Kiro proxies
// (AIClient-2-API claude-kiro.js, kiro.rs) reproduce it: a conversationState holding the finished turns
// in history (alternating userInputMessage / assistantResponseMessage, ending with the assistant) and
// the new user turn in currentMessage; tools and tool results ride in userInputMessageContext; every
// user turn names the modelId and origin AI_EDITOR; profileArn is sent only for social (Google/GitHub)
// logins, Builder ID accounts must not send it (kiro.rs issue #161).

type cwRequest struct {
	ConversationState cwState `json:"conversationState"`
	ProfileArn        string  `json:"profileArn,omitempty"`
}

type cwState struct {
	ChatTriggerType string      `json:"chatTriggerType"`
	ConversationID  string      `json:"conversationId"`
	CurrentMessage  cwCurrent   `json:"currentMessage"`
	History         []cwHistory `json:"history,omitempty"`
}

type cwCurrent struct {
	UserInputMessage cwUserInput `json:"userInputMessage"`
}

type cwHistory struct {
	UserInputMessage         *cwUserInput  `json:"userInputMessage,omitempty"`
	AssistantResponseMessage *cwAssistance `json:"assistantResponseMessage,omitempty"`
}

type cwUserInput struct {
	Content                 string     `json:"content"`
	ModelID                 string     `json:"modelId"`
	Origin                  string     `json:"origin"`
	Images                  []cwImage  `json:"images,omitempty"`
	UserInputMessageContext *cwContext `json:"userInputMessageContext,omitempty"`
}

type cwContext struct {
	ToolResults []cwToolResult `json:"toolResults,omitempty"`
	Tools       []cwTool       `json:"tools,omitempty"`
}

type cwToolResult struct {
	ToolUseID string          `json:"toolUseId"`
	Status    string          `json:"status"` // success or error
	Content   []cwResultBlock `json:"content"`
}

type cwResultBlock struct {
	Text string `json:"text"`
}

type cwTool struct {
	ToolSpecification cwToolSpec `json:"toolSpecification"`
}

type cwToolSpec struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	InputSchema cwInputSchema `json:"inputSchema"`
}

type cwInputSchema struct {
	JSON json.RawMessage `json:"json"`
}

type cwAssistance struct {
	Content  string      `json:"content"`
	ToolUses []cwToolUse `json:"toolUses,omitempty"`
}

type cwToolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type cwImage struct {
	Format string        `json:"format"` // png, jpeg, gif, webp
	Source cwImageSource `json:"source"`
}

type cwImageSource struct {
	Bytes string `json:"bytes"` // base64
}

const (
	originAIEditor = "AI_EDITOR"
	triggerManual  = "MANUAL"
	// Kiro refuses empty user content; peers fill these in (AIClient-2-API claude-kiro.js).
	emptyUserContent   = "Continue"
	toolResultsContent = "Tool results provided."
	// maxToolDescription bounds tool descriptions; very long ones are refused by the upstream (public
	// proxies truncate near 9-10k characters; the exact limit is unpublished).
	maxToolDescription = 10000
)

var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// turn is one Kiro turn being built: user turns merge every non-assistant canonical message.
type turn struct {
	assistant bool
	text      strings.Builder
	images    []cwImage
	results   []cwToolResult
	uses      []cwToolUse
}

// buildRequest maps a canonical request to the CodeWhisperer body. It fails with a 400 *llm.Error for
// content Kiro cannot carry.
func buildRequest(req *llm.Request, modelID string) (*cwRequest, error) {
	system := llm.TextOf(req.System)
	if tags := thinkingPrefix(req.Reasoning); tags != "" {
		if system != "" {
			tags += "\n"
		}
		system = tags + system
	}
	var turns []*turn
	cur := func(assistant bool) *turn {
		if n := len(turns); n > 0 && turns[n-1].assistant == assistant {
			return turns[n-1]
		}
		t := &turn{assistant: assistant}
		turns = append(turns, t)
		return t
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		switch m.Role {
		case llm.RoleSystem:
			// Kiro has no system slot mid-conversation; fold it into the system text.
			if s := llm.TextOf(m.Parts); s != "" {
				system = joinText(system, s)
			}
		case llm.RoleAssistant:
			t := cur(true)
			for _, p := range m.Parts {
				switch p.Kind {
				case llm.PartText, llm.PartRefusal:
					t.text.WriteString(p.Text)
				case llm.PartThinking:
					// Earlier thinking goes back as the tagged text Kiro produced it as.
					if p.Thinking != nil && p.Thinking.Text != "" {
						t.text.WriteString(thinkOpen + p.Thinking.Text + thinkClose + "\n\n")
					}
				case llm.PartToolCall:
					in := p.ToolCall.Arguments
					if len(in) == 0 || !json.Valid(in) {
						in = json.RawMessage("{}")
					}
					t.uses = append(t.uses, cwToolUse{ToolUseID: p.ToolCall.ID, Name: p.ToolCall.Name, Input: in})
				}
				// Redacted thinking has no Kiro form and is dropped.
			}
		default: // user and tool results
			t := cur(false)
			sep := t.text.Len() > 0 // a second message merged into this turn starts on a new paragraph
			for _, p := range m.Parts {
				switch p.Kind {
				case llm.PartText:
					if sep && p.Text != "" {
						t.text.WriteString("\n\n")
						sep = false
					}
					t.text.WriteString(p.Text)
				case llm.PartImage:
					img, err := image(p.Media)
					if err != nil {
						return nil, err
					}
					t.images = append(t.images, img)
				case llm.PartToolResult:
					t.results = append(t.results, toolResult(p.ToolResult))
				case llm.PartFile, llm.PartAudio:
					return nil, llm.BadRequest("Kiro accepts text, images and tool results only; remove the %s content.", p.Kind)
				}
			}
		}
	}
	if len(turns) == 0 {
		return nil, llm.BadRequest("messages: at least one message is required")
	}
	// History must start with a user turn and the current message must be one too.
	if turns[0].assistant {
		t := &turn{}
		t.text.WriteString(emptyUserContent)
		turns = append([]*turn{t}, turns...)
	}
	last := turns[len(turns)-1]
	if last.assistant {
		// An assistant prefill becomes history; Kiro needs a user turn to answer.
		last = &turn{}
		last.text.WriteString(emptyUserContent)
		turns = append(turns, last)
	}
	if system != "" {
		first := turns[0]
		body := first.text.String()
		first.text.Reset()
		first.text.WriteString(system)
		if body != "" {
			first.text.WriteString("\n\n")
			first.text.WriteString(body)
		}
	}
	out := &cwRequest{ConversationState: cwState{ChatTriggerType: triggerManual, ConversationID: acct.NewUUID()}}
	hist := turns[:len(turns)-1]
	if len(hist) > 0 {
		out.ConversationState.History = make([]cwHistory, 0, len(hist))
	}
	for _, t := range hist {
		if t.assistant {
			content := t.text.String()
			if content == "" && len(t.uses) == 0 {
				content = "..."
			}
			out.ConversationState.History = append(out.ConversationState.History,
				cwHistory{AssistantResponseMessage: &cwAssistance{Content: content, ToolUses: t.uses}})
			continue
		}
		u := userInput(t, modelID)
		out.ConversationState.History = append(out.ConversationState.History, cwHistory{UserInputMessage: &u})
	}
	cm := userInput(last, modelID)
	if tools := toolSpecs(req.Tools); len(tools) > 0 {
		if cm.UserInputMessageContext == nil {
			cm.UserInputMessageContext = &cwContext{}
		}
		cm.UserInputMessageContext.Tools = tools
	}
	out.ConversationState.CurrentMessage.UserInputMessage = cm
	return out, nil
}

func userInput(t *turn, modelID string) cwUserInput {
	u := cwUserInput{Content: t.text.String(), ModelID: modelID, Origin: originAIEditor, Images: t.images}
	if u.Content == "" {
		u.Content = emptyUserContent
		if len(t.results) > 0 {
			u.Content = toolResultsContent
		}
	}
	if len(t.results) > 0 {
		u.UserInputMessageContext = &cwContext{ToolResults: dedupResults(t.results)}
	}
	return u
}

// dedupResults keeps the first result of each tool use id; Kiro rejects repeated ids.
func dedupResults(rs []cwToolResult) []cwToolResult {
	if len(rs) < 2 {
		return rs
	}
	seen := make(map[string]bool, len(rs))
	out := rs[:0]
	for _, r := range rs {
		if !seen[r.ToolUseID] {
			seen[r.ToolUseID] = true
			out = append(out, r)
		}
	}
	return out
}

func toolResult(r *llm.ToolResult) cwToolResult {
	var b strings.Builder
	for _, p := range r.Content {
		switch p.Kind {
		case llm.PartText:
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			b.WriteString(p.Text)
		case llm.PartImage, llm.PartFile, llm.PartAudio:
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			b.WriteString("[non-text tool output omitted]")
		}
	}
	status := "success"
	if r.IsError {
		status = "error"
	}
	return cwToolResult{ToolUseID: r.CallID, Status: status, Content: []cwResultBlock{{Text: b.String()}}}
}

func toolSpecs(tools []llm.Tool) []cwTool {
	var out []cwTool
	for _, t := range tools {
		if t.Type != "" && t.Type != "function" {
			continue // hosted tools of other vendors have no Kiro form
		}
		desc := t.Description
		if desc == "" {
			desc = t.Name // Kiro refuses empty descriptions
		}
		if len(desc) > maxToolDescription {
			cut := maxToolDescription
			for cut > 0 && !utf8.RuneStart(desc[cut]) {
				cut--
			}
			desc = desc[:cut]
		}
		schema := t.Parameters
		if len(schema) == 0 || string(schema) == "null" {
			schema = emptySchema
		}
		out = append(out, cwTool{ToolSpecification: cwToolSpec{Name: t.Name, Description: desc, InputSchema: cwInputSchema{JSON: schema}}})
	}
	return out
}

// image maps an inline image; Kiro takes raw bytes only, so URL images are refused.
func image(m *llm.Media) (cwImage, error) {
	if m == nil || m.Data == "" {
		return cwImage{}, llm.BadRequest("Kiro accepts inline (base64) images only; image URLs are not supported.")
	}
	format := strings.TrimPrefix(strings.ToLower(m.MIME), "image/")
	switch format {
	case "png", "jpeg", "gif", "webp":
	case "jpg":
		format = "jpeg"
	default:
		return cwImage{}, llm.BadRequest("Kiro accepts png, jpeg, gif and webp images; got %q.", m.MIME)
	}
	return cwImage{Format: format, Source: cwImageSource{Bytes: m.Data}}, nil
}

func joinText(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n\n" + b
}
