// Package llm defines the canonical, vendor-neutral request, response and stream-event types that every
// wire-format codec in proxycore/translate maps to and from, so N formats need 2N converters.
package llm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Format names a client or upstream wire format.
type Format string

// The wire formats the proxy speaks.
const (
	FormatOpenAIChat        Format = "openai"      // /v1/chat/completions
	FormatOpenAICompletions Format = "completions" // /v1/completions (legacy)
	FormatResponses         Format = "responses"   // /v1/responses
	FormatClaude            Format = "claude"      // /v1/messages
	FormatGemini            Format = "gemini"      // /v1beta/models/{m}:generateContent
)

// Role is the author of a message.
type Role string

// Canonical roles. Tool results travel in RoleTool messages; encoders fold them into the target's shape
// (a user turn for Claude and Gemini, one tool message per result for Chat).
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// PartKind says which payload field of a Part is set.
type PartKind string

// Part kinds.
const (
	PartText             PartKind = "text"
	PartImage            PartKind = "image"
	PartFile             PartKind = "file"
	PartAudio            PartKind = "audio"
	PartToolCall         PartKind = "tool_call"
	PartToolResult       PartKind = "tool_result"
	PartThinking         PartKind = "thinking"
	PartRedactedThinking PartKind = "redacted_thinking"
	PartRefusal          PartKind = "refusal"
)

// Part is one piece of message content. Exactly the field matching Kind is meaningful.
type Part struct {
	Kind PartKind
	// Text is the text of PartText and PartRefusal parts.
	Text string
	// Media holds the payload of PartImage, PartFile and PartAudio parts.
	Media *Media
	// ToolCall is set for PartToolCall.
	ToolCall *ToolCall
	// ToolResult is set for PartToolResult.
	ToolResult *ToolResult
	// Thinking is set for PartThinking and PartRedactedThinking.
	Thinking *Thinking
	// ThoughtSignature is a Gemini thoughtSignature attached to a non-thought part (text or function
	// call); it is only ever echoed back to Gemini, on the same part.
	ThoughtSignature string
	// Extra keeps source-format fields the canonical form lacks (for example Claude cache_control).
	Extra map[string]json.RawMessage
}

// Media is an image, file or audio payload: either inline base64 Data with its MIME type, a URL, or a
// vendor file id.
type Media struct {
	MIME     string
	Data     string // base64, without any data: prefix
	URL      string // https URL or vendor file URI
	FileID   string
	Filename string
	Detail   string // OpenAI image detail
}

// ToolCall is a model's request to call a function. Arguments is a JSON object.
type ToolCall struct {
	ID        string
	Name      string
	Arguments json.RawMessage
}

// ToolResult answers a ToolCall. Name is recovered from the call when the source format lacks it.
type ToolResult struct {
	CallID  string
	Name    string
	Content []Part
	IsError bool
}

// Thinking is model reasoning. Signature is opaque and only valid for the vendor in SignatureFormat;
// encoders never forward it to another vendor. Data holds the payload of redacted thinking.
type Thinking struct {
	Text            string
	Signature       string
	SignatureFormat Format
	Data            string
	// ID is the Responses reasoning item id, when known.
	ID string
}

// Message is one conversation turn.
type Message struct {
	Role  Role
	Parts []Part
	Name  string
	Extra map[string]json.RawMessage
}

// Tool declares a function the model may call. Type is "function" (or empty) for function tools; other
// values are hosted tools of the source format, which encoders of other formats drop.
type Tool struct {
	Type        string
	Name        string
	Description string
	Parameters  json.RawMessage // JSON Schema object, or nil for no parameters
	Strict      *bool
	Extra       map[string]json.RawMessage
}

// ToolChoiceMode is the tool-choice intent (WIRE.md §5.3).
type ToolChoiceMode string

// Tool-choice modes.
const (
	ToolChoiceAuto     ToolChoiceMode = "auto"
	ToolChoiceNone     ToolChoiceMode = "none"
	ToolChoiceRequired ToolChoiceMode = "required"
	ToolChoiceTool     ToolChoiceMode = "tool" // Name must be set
)

// ToolChoice constrains tool use. Allowed, when set, restricts the callable tools to those names.
type ToolChoice struct {
	Mode    ToolChoiceMode
	Name    string
	Allowed []string
}

// Reasoning configures model thinking. Effort uses the OpenAI scale (none, minimal, low, medium, high,
// xhigh, max); BudgetTokens is a token budget (Claude budget_tokens, Gemini thinkingBudget, -1 dynamic).
type Reasoning struct {
	Effort          string
	BudgetTokens    *int
	IncludeThoughts bool
	Summary         string
	// Adaptive is Claude's thinking {type:"adaptive"}.
	Adaptive bool
}

// ResponseFormat asks for structured output.
type ResponseFormat struct {
	Type        string // text, json_object, json_schema
	Name        string
	Description string
	Schema      json.RawMessage
	Strict      *bool
}

// Request is a canonical generation request.
type Request struct {
	Model  string
	Stream bool
	// System is the leading system prompt. Mid-conversation system messages stay in Messages with
	// RoleSystem; encoders of formats without them fold them into the system slot.
	System            []Part
	Messages          []Message
	Tools             []Tool
	ToolChoice        *ToolChoice
	ParallelToolCalls *bool
	MaxTokens         *int
	Temperature       *float64
	TopP              *float64
	TopK              *int
	Stop              []string
	Seed              *int64
	N                 *int
	Reasoning         *Reasoning
	IncludeUsage      bool
	ResponseFormat    *ResponseFormat
	User              string
	// SourceFormat is the format the request was decoded from; encoders of the same format re-emit Extra.
	SourceFormat Format
	// Extra holds top-level fields of the source format that the canonical form lacks.
	Extra map[string]json.RawMessage
}

// FinishReason is why generation stopped (WIRE.md §5.4).
type FinishReason string

// Finish reasons.
const (
	FinishStop          FinishReason = "stop"
	FinishLength        FinishReason = "length"
	FinishToolCalls     FinishReason = "tool_calls"
	FinishContentFilter FinishReason = "content_filter"
	FinishPause         FinishReason = "pause"
	FinishError         FinishReason = "error"
)

// Usage counts tokens. InputTokens is the FULL prompt size including cached reads and cache writes;
// OutputTokens includes ReasoningTokens (WIRE.md §5.5).
type Usage struct {
	InputTokens         int64
	OutputTokens        int64
	CachedInputTokens   int64
	CacheCreationTokens int64
	ReasoningTokens     int64
}

// Total returns input plus output tokens.
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }

// Response is a canonical non-streaming response.
type Response struct {
	ID           string
	Model        string
	Created      int64 // unix seconds, 0 if unknown
	Message      Message
	Finish       FinishReason
	StopSequence string
	Usage        Usage
	Extra        map[string]json.RawMessage
}

// EventType is the kind of a canonical stream event.
type EventType uint8

// Stream event types. Blocks are numbered by Event.Index in order of appearance; a block opens with its
// first TextDelta/ThinkingDelta/RedactedThinking/ToolCallStart and closes with BlockStop.
const (
	EventMessageStart     EventType = iota + 1 // ID, Model
	EventTextDelta                             // Index, Text
	EventThinkingDelta                         // Index, Text
	EventSignatureDelta                        // Index, Text (signature), SignatureFormat
	EventRedactedThinking                      // Index, Text (data)
	EventToolCallStart                         // Index, ID, Name
	EventToolArgsDelta                         // Index, Text (JSON fragment)
	EventBlockStop                             // Index
	EventUsage                                 // Usage (cumulative)
	EventFinish                                // Finish, StopSequence
	EventError                                 // Err
)

// Event is one canonical stream event. It is a flat struct so that encoding needs no interface boxing.
type Event struct {
	Type            EventType
	Index           int
	ID              string
	Model           string
	Name            string
	Text            string
	SignatureFormat Format
	Finish          FinishReason
	StopSequence    string
	Usage           Usage
	Err             *Error
}

// Error is an API error in canonical form. It carries the HTTP status, the vendor type/code, a
// retry-after hint and the rate-limit headers worth passing on.
type Error struct {
	Status     int
	Type       string
	Code       string
	Message    string
	Param      string
	RetryAfter time.Duration
	Header     http.Header
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "status %d", e.Status)
	if e.Type != "" {
		b.WriteString(" ")
		b.WriteString(e.Type)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// BadRequest returns a 400 invalid_request_error with a formatted message.
func BadRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: fmt.Sprintf(format, args...)}
}

// StreamCut returns the error used when an upstream stream ended before its terminal event.
func StreamCut(detail string) *Error {
	return &Error{Status: http.StatusBadGateway, Type: "api_error", Code: "stream_cut",
		Message: "upstream stream ended unexpectedly: " + detail}
}

// TextOf concatenates the text of all PartText parts.
func TextOf(parts []Part) string {
	if len(parts) == 1 && parts[0].Kind == PartText {
		return parts[0].Text
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Kind == PartText {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}
