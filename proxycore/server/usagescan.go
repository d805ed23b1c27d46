package server

import "bytes"

// Reading a usage object without reflection. encoding/json spends most of its time on a usage object
// matching member names against the struct's fields; these objects are a dozen integer members, some
// in one nested object, so a direct scan reads them for a tenth of the cost. Anything the scan does not
// expect (a member name that differs from a known one only in letter case, a known member that is not
// an integer, a float, escapes in names, deeper nesting under a known object) makes it give up, and the
// caller decodes with encoding/json as before, so the result never differs from encoding/json's.

// wireTarget maps a member of a wireUsage (its parent object's name, empty at the top, and its name) to
// the counter it sets, reporting false for a member to skip. The conversions in the switches do not
// allocate.
func wireTarget(u *wireUsage, parent, name []byte) (*int64, bool) {
	switch string(parent) {
	case "":
		switch string(name) {
		case "prompt_tokens":
			return &u.PromptTokens, true
		case "completion_tokens":
			return &u.CompletionTokens, true
		case "input_tokens":
			return &u.InputTokens, true
		case "output_tokens":
			return &u.OutputTokens, true
		case "cache_creation_input_tokens":
			return &u.CacheCreation, true
		case "cache_read_input_tokens":
			return &u.CacheRead, true
		}
	case "prompt_tokens_details":
		switch string(name) {
		case "cached_tokens":
			return &u.PromptDetails.CachedTokens, true
		case "cache_write_tokens":
			return &u.PromptDetails.CacheWriteTokens, true
		}
	case "completion_tokens_details":
		if string(name) == "reasoning_tokens" {
			return &u.CompletionDetails.ReasoningTokens, true
		}
	case "input_tokens_details":
		switch string(name) {
		case "cached_tokens":
			return &u.InputDetails.CachedTokens, true
		case "cache_write_tokens":
			return &u.InputDetails.CacheWriteTokens, true
		}
	case "output_tokens_details":
		switch string(name) {
		case "reasoning_tokens":
			return &u.OutputDetails.ReasoningTokens, true
		case "thinking_tokens":
			return &u.OutputDetails.ThinkingTokens, true
		}
	}
	return nil, false
}

// wireUsageNames are every member name wireUsage knows, nested ones included, for the letter-case check.
var wireUsageNames = []string{"prompt_tokens", "completion_tokens", "input_tokens", "output_tokens",
	"cache_creation_input_tokens", "cache_read_input_tokens", "prompt_tokens_details", "completion_tokens_details",
	"input_tokens_details", "output_tokens_details", "cached_tokens", "cache_write_tokens", "reasoning_tokens",
	"thinking_tokens"}

// wireUsageObjects are the members of wireUsage that are objects.
var wireUsageObjects = []string{"prompt_tokens_details", "completion_tokens_details", "input_tokens_details", "output_tokens_details"}

// geminiTarget is wireTarget for Gemini's usageMetadata, which has no nested counters.
func geminiTarget(g *geminiUsage, parent, name []byte) (*int64, bool) {
	if len(parent) != 0 {
		return nil, false
	}
	switch string(name) {
	case "promptTokenCount":
		return &g.Prompt, true
	case "candidatesTokenCount":
		return &g.Candidates, true
	case "cachedContentTokenCount":
		return &g.Cached, true
	case "thoughtsTokenCount":
		return &g.Thoughts, true
	case "toolUsePromptTokenCount":
		return &g.ToolPrompt, true
	}
	return nil, false
}

var geminiUsageNames = []string{"promptTokenCount", "candidatesTokenCount", "cachedContentTokenCount",
	"thoughtsTokenCount", "toolUsePromptTokenCount"}

// usageScan walks one usage object into wire or gem.
type usageScan struct {
	b       []byte
	i       int
	wire    *wireUsage
	gem     *geminiUsage
	names   []string // known member names, for the letter-case check
	objects []string // known members whose value is an object
}

// scanWireUsage fills u from obj and reports whether the scan could read it.
func scanWireUsage(obj []byte, u *wireUsage) bool {
	s := usageScan{b: obj, wire: u, names: wireUsageNames, objects: wireUsageObjects}
	return s.object(nil) && s.end()
}

// scanGeminiUsage fills g from obj and reports whether the scan could read it.
func scanGeminiUsage(obj []byte, g *geminiUsage) bool {
	s := usageScan{b: obj, gem: g, names: geminiUsageNames}
	return s.object(nil) && s.end()
}

func (s *usageScan) target(parent, name []byte) (*int64, bool) {
	if s.wire != nil {
		return wireTarget(s.wire, parent, name)
	}
	return geminiTarget(s.gem, parent, name)
}

func (s *usageScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *usageScan) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// object reads an object whose members belong to parent (nil at the top).
func (s *usageScan) object(parent []byte) bool {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		s.ws()
		name, ok := s.name()
		if !ok {
			return false
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		if !s.member(parent, name) {
			return false
		}
		if more, ok := s.separator('}'); !more {
			return ok
		}
	}
}

// member reads the value of member name of parent.
func (s *usageScan) member(parent, name []byte) bool {
	ptr, known := s.target(parent, name)
	if !known {
		if s.foldsToKnown(name) {
			return false // encoding/json would match it case-insensitively
		}
		if parent == nil && s.isObjectMember(name) {
			if s.b[s.i] == 'n' {
				return s.literal("null")
			}
			return s.object(name)
		}
		return s.skip()
	}
	switch c := s.b[s.i]; {
	case c == 'n':
		return s.literal("null") // encoding/json leaves the field as it was
	case c == '-' || c >= '0' && c <= '9':
		v, ok := s.integer()
		if ok {
			*ptr = v
		}
		return ok
	}
	return false
}

func (s *usageScan) isObjectMember(name []byte) bool {
	for _, o := range s.objects {
		if o == string(name) {
			return true
		}
	}
	return false
}

// foldsToKnown reports whether name is not a known member but equals one in another letter case.
func (s *usageScan) foldsToKnown(name []byte) bool {
	for _, k := range s.names {
		if len(k) == len(name) && k != string(name) && bytes.EqualFold([]byte(k), name) {
			return true
		}
	}
	return false
}

// name reads a member name without escapes.
func (s *usageScan) name() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// integer reads a JSON integer that fits int64; a fraction or exponent gives up.
func (s *usageScan) integer() (int64, bool) {
	neg := false
	if s.b[s.i] == '-' {
		neg = true
		s.i++
	}
	start := s.i
	var v int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		if s.i-start >= 18 {
			return 0, false
		}
		v = v*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	n := s.i - start
	if n == 0 || n > 1 && s.b[start] == '0' {
		return 0, false
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

func (s *usageScan) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// skip passes over one value of a member nobody reads, checking it is valid JSON as encoding/json
// would (so that a body it refuses is not read here), up to a nesting depth beyond which it gives up.
func (s *usageScan) skip() bool { return s.value(0) }

func (s *usageScan) value(depth int) bool {
	if s.i >= len(s.b) || depth > 16 {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.skipString()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == '{':
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return true
		}
		for {
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != '"' || !s.skipString() {
				return false
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return false
			}
			s.i++
			s.ws()
			if !s.value(depth + 1) {
				return false
			}
			if more, ok := s.separator('}'); !more {
				return ok
			}
		}
	case c == '[':
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return true
		}
		for {
			s.ws()
			if !s.value(depth + 1) {
				return false
			}
			if more, ok := s.separator(']'); !more {
				return ok
			}
		}
	}
	return false
}

// separator reads what follows a member or element: a comma (more follow) or closer (the end, ok);
// anything else is an error (neither more nor ok).
func (s *usageScan) separator(closer byte) (more, ok bool) {
	s.ws()
	if s.i >= len(s.b) {
		return false, false
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		return true, true
	case closer:
		s.i++
		return false, true
	}
	return false, false
}

// number passes over a JSON number, checking its grammar.
func (s *usageScan) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		start := s.i
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
		return s.i - start
	}
	start := s.i
	n := digits()
	if n == 0 || n > 1 && s.b[start] == '0' {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// skipString passes over a string, checking its escapes and that it holds no control characters.
func (s *usageScan) skipString() bool {
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			j++
			if j >= len(s.b) {
				return false
			}
			switch s.b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s.b) {
					return false
				}
				for _, h := range s.b[j+1 : j+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				j += 4
			default:
				return false
			}
		}
	}
	return false
}
