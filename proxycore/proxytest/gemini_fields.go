package proxytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// The Gemini API parses requests as proto-JSON and rejects unknown names at any depth with 400
// INVALID_ARGUMENT "Invalid JSON payload received. Unknown name "x" at 'path': Cannot find field.",
// and a list where a singular field is expected with "Proto field is not repeating, cannot start
// list." (WIRE.md §4.1, §4.2). This file reproduces that check over the field names of the genai
// v1.77.0 types (GenerateContentRequest parts, Tool, FunctionDeclaration, Schema, GenerationConfig…).
// Struct-typed fields (functionCall.args, functionResponse.response, parametersJsonSchema, …) are
// free-form and never checked.

// fieldKind says how a proto field accepts JSON.
type fieldKind int

const (
	kScalar   fieldKind = iota // singular scalar or enum: a list is rejected
	kRepeated                  // repeated scalar: anything goes
	kMessage                   // singular message: an object checked against its fields
	kRepMsg                    // repeated message: a list of objects (or one object)
	kMap                       // map<string, message>: every value checked against the message
	kAny                       // google.protobuf.Struct / Value: free-form
)

// field is one proto field; msg is set for message, repeated-message and map kinds.
type field struct {
	kind fieldKind
	msg  *message
}

// message maps camelCase field names to fields; snake_case spellings are accepted too.
type message struct {
	fields map[string]field
}

func (m *message) lookup(name string) (field, string, bool) {
	if f, ok := m.fields[name]; ok {
		return f, snake(name), true
	}
	if f, ok := m.fields[camel(name)]; ok && strings.Contains(name, "_") {
		return f, name, true
	}
	return field{}, "", false
}

func snake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('_')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

func msgOf(scalars, repeated, anys []string, nested map[string]field) *message {
	m := &message{fields: map[string]field{}}
	for _, n := range scalars {
		m.fields[n] = field{kind: kScalar}
	}
	for _, n := range repeated {
		m.fields[n] = field{kind: kRepeated}
	}
	for _, n := range anys {
		m.fields[n] = field{kind: kAny}
	}
	for n, f := range nested {
		m.fields[n] = f
	}
	return m
}

// geminiRequestShape builds the GenerateContentRequest field tree (genai v1.77.0 json tags).
func geminiRequestShape() *message {
	schema := msgOf([]string{"type", "format", "title", "description", "nullable", "minItems", "maxItems",
		"minProperties", "maxProperties", "minLength", "maxLength", "pattern", "minimum", "maximum"},
		[]string{"enum", "required", "propertyOrdering"}, []string{"default", "example"}, nil)
	schema.fields["items"] = field{kind: kMessage, msg: schema}
	schema.fields["anyOf"] = field{kind: kRepMsg, msg: schema}
	schema.fields["properties"] = field{kind: kMap, msg: schema}

	part := msgOf([]string{"text", "thought", "thoughtSignature", "mediaResolution"}, nil,
		[]string{"videoMetadata", "partMetadata", "executableCode", "codeExecutionResult", "toolCall", "toolResponse",
			"audioTranscription", "mediaProcessing", "speechMetadata"},
		map[string]field{
			"inlineData":       {kind: kMessage, msg: msgOf([]string{"data", "mimeType", "displayName"}, nil, nil, nil)},
			"fileData":         {kind: kMessage, msg: msgOf([]string{"fileUri", "mimeType", "displayName"}, nil, nil, nil)},
			"functionCall":     {kind: kMessage, msg: msgOf([]string{"id", "name", "willContinue"}, nil, []string{"args", "partialArgs"}, nil)},
			"functionResponse": {kind: kMessage, msg: msgOf([]string{"id", "name", "willContinue", "scheduling"}, nil, []string{"response", "parts"}, nil)},
		})
	content := msgOf([]string{"role"}, nil, nil, map[string]field{"parts": {kind: kRepMsg, msg: part}})

	decl := msgOf([]string{"name", "description", "behavior"}, nil, []string{"parametersJsonSchema", "responseJsonSchema"},
		map[string]field{"parameters": {kind: kMessage, msg: schema}, "response": {kind: kMessage, msg: schema}})
	tool := msgOf(nil, nil, []string{"retrieval", "computerUse", "fileSearch", "googleSearch", "googleMaps",
		"codeExecution", "enterpriseWebSearch", "googleSearchRetrieval", "parallelAiSearch", "urlContext", "mcpServers", "exaAiSearch"},
		map[string]field{"functionDeclarations": {kind: kRepMsg, msg: decl}})
	toolConfig := msgOf(nil, nil, []string{"retrievalConfig"}, map[string]field{
		"functionCallingConfig": {kind: kMessage, msg: msgOf([]string{"mode", "streamFunctionCallArguments"}, []string{"allowedFunctionNames"}, nil, nil)},
	})
	toolConfig.fields["includeServerSideToolInvocations"] = field{kind: kScalar}

	genConfig := msgOf([]string{"audioTimestamp", "candidateCount", "enableAffectiveDialog", "frequencyPenalty", "logprobs",
		"maxOutputTokens", "mediaResolution", "presencePenalty", "responseLogprobs", "responseMimeType", "seed",
		"temperature", "topK", "topP", "enableEnhancedCivicAnswers"},
		[]string{"responseModalities", "stopSequences"},
		[]string{"modelSelectionConfig", "responseJsonSchema", "routingConfig", "speechConfig", "responseFormat",
			"translationConfig", "audioTranscriptionConfig"},
		map[string]field{
			"responseSchema": {kind: kMessage, msg: schema},
			"thinkingConfig": {kind: kMessage, msg: msgOf([]string{"includeThoughts", "thinkingBudget", "thinkingLevel"}, nil, nil, nil)},
		})

	return msgOf([]string{"model", "cachedContent"}, nil, nil, map[string]field{
		"contents":          {kind: kRepMsg, msg: content},
		"systemInstruction": {kind: kMessage, msg: content},
		"tools":             {kind: kRepMsg, msg: tool},
		"toolConfig":        {kind: kMessage, msg: toolConfig},
		"safetySettings":    {kind: kRepMsg, msg: msgOf([]string{"category", "threshold", "method"}, nil, nil, nil)},
		"generationConfig":  {kind: kMessage, msg: genConfig},
	})
}

// geminiCountShape is the countTokens request: contents or a whole generateContentRequest (WIRE.md §4.6).
func geminiCountShape(req *message) *message {
	return msgOf(nil, nil, nil, map[string]field{
		"contents":               req.fields["contents"],
		"generateContentRequest": {kind: kMessage, msg: req},
	})
}

// member is one name/value pair of a JSON object, in document order.
type member struct {
	name  string
	value json.RawMessage
}

// members decodes a JSON object keeping member order; ok is false for anything but an object.
func members(raw json.RawMessage) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, member{name, v})
	}
	return out, true
}

func unknownName(name, path, reason string) string {
	if path == "" {
		return fmt.Sprintf("Invalid JSON payload received. Unknown name %q: %s", name, reason)
	}
	return fmt.Sprintf("Invalid JSON payload received. Unknown name %q at '%s': %s", name, path, reason)
}

// checkFields validates raw against m and returns the API's message for the first violation in
// document order, or "". path is the proto path of raw in snake_case, e.g. "tools[0].function_declarations[1]".
func checkFields(m *message, raw json.RawMessage, path string) string {
	ms, ok := members(raw)
	if !ok {
		return "" // a non-object where a message is expected: not modelled
	}
	for _, mem := range ms {
		f, pname, ok := m.lookup(mem.name)
		if !ok {
			return unknownName(mem.name, path, "Cannot find field.")
		}
		if msg := checkValue(f, mem.name, mem.value, path, join(path, pname)); msg != "" {
			return msg
		}
	}
	return ""
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func checkValue(f field, name string, v json.RawMessage, parent, path string) string {
	v = bytes.TrimSpace(v)
	isList := len(v) > 0 && v[0] == '['
	switch f.kind {
	case kScalar, kMessage:
		if isList {
			return unknownName(name, parent, "Proto field is not repeating, cannot start list.")
		}
		if f.kind == kMessage {
			return checkFields(f.msg, v, path)
		}
	case kRepMsg:
		if !isList {
			return checkFields(f.msg, v, path)
		}
		var items []json.RawMessage
		if json.Unmarshal(v, &items) != nil {
			return ""
		}
		for i, it := range items {
			if msg := checkFields(f.msg, it, fmt.Sprintf("%s[%d]", path, i)); msg != "" {
				return msg
			}
		}
	case kMap:
		// Map entries are addressed by position: properties[0].value.
		entries, _ := members(v)
		for i, e := range entries {
			if msg := checkFields(f.msg, e.value, fmt.Sprintf("%s[%d].value", path, i)); msg != "" {
				return msg
			}
		}
	}
	return ""
}
