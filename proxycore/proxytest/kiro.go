package proxytest

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// Kiro (AWS CodeWhisperer generateAssistantResponse) wire facts, from PROVIDERS.md "kiro" and public
// Kiro proxies (AIClient-2-API claude-kiro.js, kiro.rs): the request is a JSON conversationState
// (currentMessage.userInputMessage, history of alternating userInputMessage/assistantResponseMessage,
// tool specifications and tool results in userInputMessageContext, modelId, origin); the answer is an
// AWS event stream of assistantResponseEvent {"content"}, toolUseEvent {"toolUseId","name","input",
// "stop"}, meteringEvent and contextUsageEvent frames. Errors before the stream are JSON
// {"message","reason"} with the exception name in x-amzn-ErrorType; 403 is an invalid or expired
// bearer token; malformed requests get 400 ValidationException "Improperly formed request.".
//
// The frame encoder follows the AWS event-stream encoding (AWS developer guides, "Event stream
// encoding"): total length, headers length and prelude CRC32 (big-endian), string headers (name
// length, name, type 7, 2-byte value length, value), payload, and a CRC32 of the whole message.

// vendorKiro marks the Kiro fake; it registers its own routes after start.
const vendorKiro vendor = 100

// KiroInputTooLong as the ErrorMessage of a 400 reply makes the Kiro fake answer as Kiro does for an
// oversized conversation: {"message":"Input is too long.","reason":"CONTENT_LENGTH_EXCEEDS_THRESHOLD"}
// (reported in kiro.rs issue #67 and kiro-gateway issue #10).
const KiroInputTooLong = "Input is too long."

// KiroText is the default assistant text of the Kiro fake.
const KiroText = "Hello from Kiro fake." + filler

// Kiro fake script conventions: Reply.Reasoning is sent as a leading <thinking>…</thinking> section of
// the text; Reply.ErrorAfter sends a ThrottlingException frame after that many
// content frames; Reply.MalformedAfter sends a frame whose message CRC is wrong; Reply.CutAfter drops
// the connection; Usage.InputTokens is reported as contextUsagePercentage of a 200k window. Every
// frame is written in two flushed pieces, so clients see frames split across reads.

// NewKiro starts a Kiro fake (POST /generateAssistantResponse) and closes it when the test ends.
// WithAPIKey makes it require "Authorization: Bearer <key>"; WithModels restricts modelId.
func NewKiro(t testing.TB, opts ...Option) *Upstream {
	t.Helper()
	u, err := StartKiro(opts...)
	if err != nil {
		t.Fatalf("starting Kiro fake: %v", err)
	}
	t.Cleanup(u.Close)
	return u
}

// StartKiro starts a Kiro fake outside tests; the caller must Close it.
func StartKiro(opts ...Option) (*Upstream, error) {
	u, err := start(vendorKiro, opts)
	if err != nil {
		return nil, err
	}
	u.mux.HandleFunc("POST /generateAssistantResponse", u.kiroGenerate)
	u.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeKiroError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation", nil)
	})
	return u, nil
}

// EventStreamFrame encodes one AWS event-stream message with string headers (name, value pairs).
func EventStreamFrame(headers [][2]string, payload []byte) []byte {
	hlen := 0
	for _, h := range headers {
		hlen += 1 + len(h[0]) + 1 + 2 + len(h[1])
	}
	total := 12 + hlen + len(payload) + 4
	b := make([]byte, 0, total)
	b = binary.BigEndian.AppendUint32(b, uint32(total))
	b = binary.BigEndian.AppendUint32(b, uint32(hlen))
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[:8]))
	for _, h := range headers {
		b = append(b, byte(len(h[0])))
		b = append(b, h[0]...)
		b = append(b, 7) // string
		b = binary.BigEndian.AppendUint16(b, uint16(len(h[1])))
		b = append(b, h[1]...)
	}
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// KiroEvent encodes a CodeWhisperer event frame (:message-type event) with a JSON payload.
func KiroEvent(eventType string, payload []byte) []byte {
	return EventStreamFrame([][2]string{
		{":event-type", eventType}, {":content-type", "application/json"}, {":message-type", "event"},
	}, payload)
}

// KiroException encodes an exception frame (:message-type exception) carrying {"message"}.
func KiroException(exceptionType, message string) []byte {
	return EventStreamFrame([][2]string{
		{":exception-type", exceptionType}, {":content-type", "application/json"}, {":message-type", "exception"},
	}, encode(obj{{"message", message}}))
}

func writeKiroError(w http.ResponseWriter, status int, exception, msg string, rep *Reply) {
	if rep != nil {
		rep.copyHeaders(w)
		if rep.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((rep.RetryAfter+time.Second-1)/time.Second)))
		}
	}
	w.Header().Set("X-Amzn-Errortype", exception+":http://internal.amazon.com/coral/com.amazon.aws.codewhisperer/")
	w.Header().Set("X-Amzn-Requestid", "fake-request-id")
	var reason any
	if msg == KiroInputTooLong {
		reason = "CONTENT_LENGTH_EXCEEDS_THRESHOLD"
	}
	writeJSON(w, status, encode(obj{{"message", msg}, {"reason", reason}}))
}

// kiroRequest is the part of the body the fake checks.
type kiroRequest struct {
	ConversationState *struct {
		ChatTriggerType string `json:"chatTriggerType"`
		ConversationID  string `json:"conversationId"`
		CurrentMessage  *struct {
			UserInputMessage *kiroUserInput `json:"userInputMessage"`
		} `json:"currentMessage"`
		History []struct {
			UserInputMessage         *kiroUserInput `json:"userInputMessage"`
			AssistantResponseMessage *struct {
				Content  *string `json:"content"`
				ToolUses []struct {
					ToolUseID string          `json:"toolUseId"`
					Name      string          `json:"name"`
					Input     json.RawMessage `json:"input"`
				} `json:"toolUses"`
			} `json:"assistantResponseMessage"`
		} `json:"history"`
	} `json:"conversationState"`
	ProfileArn string `json:"profileArn"`
}

type kiroUserInput struct {
	Content                 string `json:"content"`
	ModelID                 string `json:"modelId"`
	Origin                  string `json:"origin"`
	UserInputMessageContext *struct {
		ToolResults []struct {
			ToolUseID string `json:"toolUseId"`
			Status    string `json:"status"`
			Content   []struct {
				Text *string `json:"text"`
			} `json:"content"`
		} `json:"toolResults"`
		Tools []struct {
			ToolSpecification *struct {
				Name        string `json:"name"`
				Description string `json:"description"`
				InputSchema *struct {
					JSON json.RawMessage `json:"json"`
				} `json:"inputSchema"`
			} `json:"toolSpecification"`
		} `json:"tools"`
	} `json:"userInputMessageContext"`
}

// kiroValidate checks the request shape; "" means valid. Public proxies report that Kiro refuses
// repeated toolUseIds in toolResults and empty content; that a tool result must answer a tool use of
// the history, and that tools ride only on the current message, are this fake's stricter assumptions,
// which keep the executor's pairing honest.
func (u *Upstream) kiroValidate(body []byte) string {
	if m := unknownMember(body, setOf([]string{"conversationState", "profileArn"})); m != "" {
		return "unknown field " + m
	}
	var req kiroRequest
	if json.Unmarshal(body, &req) != nil || req.ConversationState == nil {
		return "conversationState is required"
	}
	cs := req.ConversationState
	if cs.ConversationID == "" || cs.ChatTriggerType == "" {
		return "conversationId and chatTriggerType are required"
	}
	if cs.CurrentMessage == nil || cs.CurrentMessage.UserInputMessage == nil {
		return "currentMessage.userInputMessage is required"
	}
	uses := map[string]bool{}
	checkUser := func(m *kiroUserInput, current bool) string {
		if m.Content == "" || m.ModelID == "" || m.Origin == "" {
			return "userInputMessage needs content, modelId and origin"
		}
		if !u.modelAllowed(m.ModelID) {
			return "invalid modelId " + m.ModelID
		}
		if c := m.UserInputMessageContext; c != nil {
			seen := map[string]bool{}
			for _, r := range c.ToolResults {
				if seen[r.ToolUseID] {
					return "toolResult " + r.ToolUseID + " is repeated"
				}
				seen[r.ToolUseID] = true
				if !uses[r.ToolUseID] || (r.Status != "success" && r.Status != "error") || len(r.Content) == 0 {
					return "toolResult " + r.ToolUseID + " does not answer a tool use"
				}
			}
			if len(c.Tools) > 0 && !current {
				return "tools are only accepted on the current message"
			}
			for _, t := range c.Tools {
				if t.ToolSpecification == nil || t.ToolSpecification.Name == "" || t.ToolSpecification.Description == "" ||
					t.ToolSpecification.InputSchema == nil || len(t.ToolSpecification.InputSchema.JSON) == 0 {
					return "toolSpecification needs name, description and inputSchema.json"
				}
			}
		}
		return ""
	}
	for i, h := range cs.History {
		wantUser := i%2 == 0
		switch {
		case h.UserInputMessage != nil && h.AssistantResponseMessage == nil && wantUser:
			if msg := checkUser(h.UserInputMessage, false); msg != "" {
				return msg
			}
		case h.AssistantResponseMessage != nil && h.UserInputMessage == nil && !wantUser:
			if h.AssistantResponseMessage.Content == nil {
				return "assistantResponseMessage.content is required"
			}
			for _, tu := range h.AssistantResponseMessage.ToolUses {
				if tu.ToolUseID == "" || tu.Name == "" || len(tu.Input) == 0 || tu.Input[0] != '{' {
					return "toolUse needs toolUseId, name and an object input"
				}
				uses[tu.ToolUseID] = true
			}
		default:
			return "history must alternate user and assistant messages, starting with the user"
		}
	}
	if len(cs.History)%2 != 0 {
		return "history must end with an assistant message"
	}
	return checkUser(cs.CurrentMessage.UserInputMessage, true)
}

func (u *Upstream) kiroGenerate(w http.ResponseWriter, r *http.Request) {
	if u.cfg.apiKey != "" && r.Header.Get("Authorization") != "Bearer "+u.cfg.apiKey {
		writeKiroError(w, http.StatusForbidden, "AccessDeniedException", "The bearer token included in the request is invalid.", nil)
		return
	}
	if msg := u.kiroValidate(bodyOf(r)); msg != "" {
		writeKiroError(w, http.StatusBadRequest, "ValidationException", "Improperly formed request.", nil)
		return
	}
	rep, _ := u.next()
	if rep.Text == "" && !rep.NoText && len(rep.ToolCalls) == 0 {
		rep.Text = KiroText
	}
	rep = rep.withDefaults(vendorKiro)
	if !rep.gate(r.Context()) {
		markCanceled(r)
		return
	}
	if rep.isError() {
		exc, msg := "InternalServerException", "Encountered an unexpected error when processing the request, please try again."
		switch rep.Status {
		case http.StatusBadRequest:
			exc, msg = "ValidationException", "Improperly formed request."
		case http.StatusForbidden, http.StatusUnauthorized:
			exc, msg = "AccessDeniedException", "The bearer token included in the request is invalid."
		case http.StatusTooManyRequests:
			exc, msg = "ThrottlingException", "Too many requests, please wait before trying again."
		}
		if rep.ErrorMessage != "" {
			msg = rep.ErrorMessage
		}
		writeKiroError(w, rep.Status, exc, msg, &rep)
		return
	}
	rep.copyHeaders(w)
	var frames [][]byte
	text := rep.Text
	if rep.Reasoning != "" {
		// With thinking asked for in the system text, Kiro's models open the answer with a tagged
		// thinking section (as public Kiro proxies parse it).
		text = "<thinking>\n" + rep.Reasoning + "</thinking>\n\n" + text
	}
	for _, p := range splitText(text, rep.StreamChunks) {
		frames = append(frames, KiroEvent("assistantResponseEvent", encode(obj{{"content", p}})))
	}
	for i, tc := range rep.ToolCalls {
		id := tc.ID
		if id == "" {
			id = "tooluse_" + u.newID("") + strconv.Itoa(i)
		}
		for _, frag := range splitText(argsOrEmpty(tc.Arguments), rep.StreamChunks) {
			frames = append(frames, KiroEvent("toolUseEvent", encode(obj{{"name", tc.Name}, {"toolUseId", id}, {"input", frag}})))
		}
		frames = append(frames, KiroEvent("toolUseEvent", encode(obj{{"name", tc.Name}, {"toolUseId", id}, {"stop", true}})))
	}
	frames = append(frames,
		KiroEvent("meteringEvent", encode(obj{{"unit", "credit"}, {"unitPlural", "credits"}, {"usage", raw("0.0125")}})),
		KiroEvent("contextUsageEvent", encode(obj{{"contextUsagePercentage", float64(rep.Usage.InputTokens) * 100 / 200000}})))
	h := w.Header()
	h.Set("Content-Type", "application/vnd.amazon.eventstream")
	h.Set("X-Amzn-Requestid", "fake-request-id")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	ctx := r.Context()
	for n, f := range frames {
		if rep.PauseAfter > 0 && n == rep.PauseAfter {
			select {
			case <-rep.Resume:
			case <-ctx.Done():
				markCanceled(r)
				return
			}
		}
		if rep.CutAfter > 0 && n == rep.CutAfter {
			panic(http.ErrAbortHandler)
		}
		last := false
		switch {
		case rep.ErrorAfter > 0 && n == rep.ErrorAfter:
			msg := rep.ErrorMessage
			if msg == "" {
				msg = "Too many requests, please wait before trying again."
			}
			f, last = KiroException("ThrottlingException", msg), true
		case rep.MalformedAfter > 0 && n == rep.MalformedAfter:
			f = append([]byte(nil), f...)
			f[len(f)-1] ^= 0xff // message CRC no longer matches
			last = true
		}
		// Two flushed pieces per frame, cut inside the prelude, so clients must reassemble frames.
		cut := min(5, len(f))
		for _, piece := range [][]byte{f[:cut], f[cut:]} {
			if ctx.Err() != nil {
				markCanceled(r)
				return
			}
			if _, err := w.Write(piece); err != nil {
				markCanceled(r)
				return
			}
			if err := rc.Flush(); err != nil {
				markCanceled(r)
				return
			}
		}
		if last {
			return
		}
	}
}
