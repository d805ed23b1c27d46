package translate

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// completionsCodec is the legacy OpenAI /v1/completions format (WIRE.md §1.7): the prompt becomes one
// user message and the answer a text_completion.
type completionsCodec struct{ env *env }

var _ Codec = (*completionsCodec)(nil)

func (c *completionsCodec) Format() llm.Format { return llm.FormatOpenAICompletions }

type completionsRequest struct {
	Model         string             `json:"model"`
	Prompt        json.RawMessage    `json:"prompt"`
	Suffix        *string            `json:"suffix,omitempty"`
	MaxTokens     *int               `json:"max_tokens,omitempty"`
	Temperature   *float64           `json:"temperature,omitempty"`
	TopP          *float64           `json:"top_p,omitempty"`
	N             *int               `json:"n,omitempty"`
	Stream        bool               `json:"stream,omitempty"`
	StreamOptions *chatStreamOptions `json:"stream_options,omitempty"`
	Stop          json.RawMessage    `json:"stop,omitempty"`
	Seed          *int64             `json:"seed,omitempty"`
	User          string             `json:"user,omitempty"`
	Echo          bool               `json:"echo,omitempty"`
}

func (c *completionsCodec) DecodeRequest(body []byte) (*llm.Request, error) {
	var in completionsRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, llm.BadRequest("invalid completions request: %v", err)
	}
	if in.Model == "" {
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "model", Message: "you must provide a model parameter"}
	}
	prompts, err := stringOrStrings(in.Prompt)
	if err != nil || len(prompts) > 1 {
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "prompt",
			Message: "prompt must be a single string (token arrays and batches are not supported by this proxy)"}
	}
	if in.Echo {
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "echo", Message: "echo is not supported by this proxy"}
	}
	if in.Suffix != nil && *in.Suffix != "" {
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "suffix", Message: "suffix is not supported by this proxy"}
	}
	req := &llm.Request{Model: in.Model, Stream: in.Stream, MaxTokens: in.MaxTokens, Temperature: in.Temperature,
		TopP: in.TopP, N: in.N, Seed: in.Seed, User: in.User, SourceFormat: llm.FormatOpenAICompletions}
	if in.StreamOptions != nil {
		req.IncludeUsage = in.StreamOptions.IncludeUsage
	}
	if req.Stop, err = stringOrStrings(in.Stop); err != nil {
		return nil, &llm.Error{Status: 400, Type: "invalid_request_error", Param: "stop", Message: "stop must be a string or an array of strings"}
	}
	text := ""
	if len(prompts) == 1 {
		text = prompts[0]
	}
	req.Messages = []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Kind: llm.PartText, Text: text}}}}
	return req, nil
}

func (c *completionsCodec) EncodeRequest(req *llm.Request) ([]byte, error) {
	prompt := joinText(req.System)
	for _, m := range req.Messages {
		for _, p := range m.Parts {
			switch p.Kind {
			case llm.PartText:
				if prompt != "" {
					prompt += "\n"
				}
				prompt += p.Text
			case llm.PartImage, llm.PartFile, llm.PartAudio, llm.PartToolCall, llm.PartToolResult:
				return nil, llm.BadRequest("%s content is not supported by the legacy completions API", p.Kind)
			}
		}
	}
	if len(functionTools(req.Tools)) > 0 {
		return nil, llm.BadRequest("tools are not supported by the legacy completions API")
	}
	out := completionsRequest{Model: req.Model, Prompt: mustMarshal(prompt), MaxTokens: req.MaxTokens, Temperature: req.Temperature,
		TopP: req.TopP, N: req.N, Stream: req.Stream, Seed: req.Seed, User: portableUser(req)}
	if req.Stream {
		out.StreamOptions = &chatStreamOptions{IncludeUsage: true}
	}
	if len(req.Stop) > 0 {
		out.Stop = mustMarshal(req.Stop)
	}
	return marshalNoEscape(out)
}

type completionsResponse struct {
	ID      string `json:"id"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Text         string  `json:"text"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *chatUsage      `json:"usage"`
	Error json.RawMessage `json:"error"`
}

func (c *completionsCodec) DecodeResponse(body []byte) (*llm.Response, error) {
	var in completionsResponse
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("decoding completions response: %w", err)
	}
	resp := &llm.Response{ID: in.ID, Model: in.Model, Created: in.Created, Message: llm.Message{Role: llm.RoleAssistant}}
	if len(in.Choices) > 0 {
		resp.Message.Parts = []llm.Part{{Kind: llm.PartText, Text: in.Choices[0].Text}}
		if f := in.Choices[0].FinishReason; f != nil {
			resp.Finish = chatFinish(*f)
		}
	}
	if in.Usage != nil {
		resp.Usage = in.Usage.canonical()
	}
	return resp, nil
}

// completionsFinish maps to the three legacy finish reasons.
func completionsFinish(f llm.FinishReason) string {
	switch f {
	case llm.FinishLength:
		return "length"
	case llm.FinishContentFilter:
		return "content_filter"
	}
	return "stop"
}

func (c *completionsCodec) cmplID(id string) string {
	if id == "" {
		return c.env.newID("cmpl-")
	}
	return id
}

func (c *completionsCodec) EncodeResponse(resp *llm.Response) ([]byte, error) {
	text := ""
	for _, p := range resp.Message.Parts {
		if p.Kind == llm.PartText {
			text += p.Text
		}
	}
	created := resp.Created
	if created == 0 {
		created = c.env.now()
	}
	b := []byte(`{"id":`)
	b = appendString(b, c.cmplID(resp.ID))
	b = append(b, `,"object":"text_completion","created":`...)
	b = appendInt(b, created)
	b = append(b, `,"model":`...)
	b = appendString(b, resp.Model)
	b = append(b, `,"choices":[{"text":`...)
	b = appendString(b, text)
	b = append(b, `,"index":0,"logprobs":null,"finish_reason":`...)
	b = appendString(b, completionsFinish(resp.Finish))
	b = append(b, `}],"usage":`...)
	b = appendChatUsage(b, resp.Usage)
	return append(b, '}'), nil
}

func (c *completionsCodec) DecodeError(status int, h http.Header, body []byte) *llm.Error {
	return decodeOpenAIError(status, h, body, c.env)
}

func (c *completionsCodec) EncodeError(e *llm.Error) []byte { return openAIErrorBody(e) }

// completionsStreamDecoder reads streamed text_completion objects ending with [DONE].
type completionsStreamDecoder struct {
	chunk    completionsResponse
	started  bool
	open     bool
	finished bool
}

func (c *completionsCodec) NewStreamDecoder() StreamDecoder { return &completionsStreamDecoder{} }

func (d *completionsStreamDecoder) Decode(dst []llm.Event, event string, data []byte) ([]llm.Event, error) {
	if string(data) == "[DONE]" {
		if d.open {
			d.open = false
			dst = append(dst, llm.Event{Type: llm.EventBlockStop})
		}
		return dst, nil
	}
	ch := &d.chunk
	*ch = completionsResponse{}
	if err := json.Unmarshal(data, ch); err != nil {
		return dst, fmt.Errorf("decoding completions stream chunk: %w", err)
	}
	if len(ch.Error) > 0 && string(ch.Error) != "null" {
		return dst, decodeOpenAIError(500, nil, data, &env{})
	}
	if !d.started {
		d.started = true
		dst = append(dst, llm.Event{Type: llm.EventMessageStart, ID: ch.ID, Model: ch.Model})
	}
	if len(ch.Choices) > 0 {
		if t := ch.Choices[0].Text; t != "" {
			d.open = true
			dst = append(dst, llm.Event{Type: llm.EventTextDelta, Text: t})
		}
		if f := ch.Choices[0].FinishReason; f != nil && *f != "" {
			if d.open {
				d.open = false
				dst = append(dst, llm.Event{Type: llm.EventBlockStop})
			}
			d.finished = true
			dst = append(dst, llm.Event{Type: llm.EventFinish, Finish: chatFinish(*f)})
		}
	}
	if ch.Usage != nil {
		dst = append(dst, llm.Event{Type: llm.EventUsage, Usage: ch.Usage.canonical()})
	}
	return dst, nil
}

func (d *completionsStreamDecoder) End(dst []llm.Event) ([]llm.Event, error) {
	if !d.finished {
		return dst, llm.StreamCut("completions stream ended before finish_reason")
	}
	return dst, nil
}

// completionsStreamEncoder writes streamed text_completion objects; reasoning and tool calls have no
// legacy form and are dropped.
type completionsStreamEncoder struct {
	c      *completionsCodec
	req    *llm.Request
	prefix []byte
	usage  llm.Usage
}

func (c *completionsCodec) NewStreamEncoder(req *llm.Request) StreamEncoder {
	return &completionsStreamEncoder{c: c, req: req}
}

func (e *completionsStreamEncoder) init(id, model string) {
	if e.prefix != nil {
		return
	}
	if e.req != nil && e.req.Model != "" {
		model = e.req.Model
	}
	p := []byte(`data: {"id":`)
	p = appendString(p, e.c.cmplID(id))
	p = append(p, `,"object":"text_completion","created":`...)
	p = appendInt(p, e.c.env.now())
	p = append(p, `,"model":`...)
	p = appendString(p, model)
	e.prefix = append(p, `,"choices":[`...)
}

func (e *completionsStreamEncoder) Encode(dst []byte, ev *llm.Event) []byte {
	switch ev.Type {
	case llm.EventMessageStart:
		e.init(ev.ID, ev.Model)
	case llm.EventTextDelta:
		if ev.Text == "" {
			return dst
		}
		e.init("", "")
		dst = append(dst, e.prefix...)
		dst = append(dst, `{"text":`...)
		dst = appendString(dst, ev.Text)
		return append(dst, `,"index":0,"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
	case llm.EventUsage:
		e.usage = ev.Usage
	case llm.EventFinish:
		e.init("", "")
		dst = append(dst, e.prefix...)
		dst = append(dst, `{"text":"","index":0,"logprobs":null,"finish_reason":`...)
		dst = appendString(dst, completionsFinish(ev.Finish))
		return append(dst, "}]}\n\n"...)
	case llm.EventError:
		if ev.Err != nil {
			return e.Fail(dst, ev.Err)
		}
	}
	return dst
}

func (e *completionsStreamEncoder) Finish(dst []byte) []byte {
	e.init("", "")
	if e.req != nil && e.req.IncludeUsage {
		dst = append(dst, e.prefix...)
		dst = append(dst, `],"usage":`...)
		dst = appendChatUsage(dst, e.usage)
		dst = append(dst, "}\n\n"...)
	}
	return append(dst, "data: [DONE]\n\n"...)
}

func (e *completionsStreamEncoder) Fail(dst []byte, err *llm.Error) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, openAIErrorBody(err)...)
	return append(dst, "\n\n"...)
}
