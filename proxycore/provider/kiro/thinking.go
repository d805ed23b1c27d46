package kiro

import (
	"strconv"
	"strings"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

// Thinking on Kiro, as public Kiro proxies drive it (AIClient-2-API claude-kiro.js KIRO_THINKING): the
// request asks for it with tags at the head of the system text, "<thinking_mode>enabled</thinking_mode>
// <max_thinking_length>N</max_thinking_length>" (N clamped to 1024..24576) or, for adaptive thinking,
// "<thinking_mode>adaptive</thinking_mode><thinking_effort>low|medium|high</thinking_effort>"; the model
// then starts its answer with "<thinking>...</thinking>" followed by a blank line, and earlier thinking
// is replayed the same way inside assistant turns. Kiro documents none of this.

const (
	thinkOpen  = "<thinking>"
	thinkClose = "</thinking>"
	// Budget bounds and default used by public proxies.
	minThinkingBudget     = 1024
	maxThinkingBudget     = 24576
	defaultThinkingBudget = 20000
)

// thinkingPrefix returns the system-text tags that ask for thinking, or "" when r asks for none.
func thinkingPrefix(r *llm.Reasoning) string {
	if r == nil || r.Effort == "none" {
		return ""
	}
	if r.Adaptive {
		effort := r.Effort
		if effort != "low" && effort != "medium" && effort != "high" {
			effort = "high"
		}
		return "<thinking_mode>adaptive</thinking_mode><thinking_effort>" + effort + "</thinking_effort>"
	}
	if r.BudgetTokens == nil || *r.BudgetTokens == 0 {
		return ""
	}
	budget := *r.BudgetTokens
	if budget < 0 {
		budget = defaultThinkingBudget
	}
	budget = min(max(budget, minThinkingBudget), maxThinkingBudget)
	return "<thinking_mode>enabled</thinking_mode><max_thinking_length>" + strconv.Itoa(budget) + "</max_thinking_length>"
}

// Text states of a thinking-enabled answer.
const (
	tsStart    = iota // nothing but white space yet: the answer may open with <thinking>
	tsOpened          // just after <thinking>: one line break that follows is dropped
	tsThinking        // inside <thinking>
	tsAfter           // just after </thinking>: the blank line that follows is dropped
	tsText            // plain text
)

// splitter separates the leading <thinking> section of an answer from its text as chunks arrive, holding
// back only what could still be the start of a tag.
type splitter struct {
	state int
	pend  string
}

// piece is a run of thinking or text.
type piece struct {
	thinking bool
	text     string
}

// feed consumes a chunk and appends the pieces that are certain.
func (s *splitter) feed(dst []piece, chunk string) []piece {
	s.pend += chunk
	for s.pend != "" {
		switch s.state {
		case tsStart:
			t := strings.TrimLeft(s.pend, " \t\r\n")
			if len(t) < len(thinkOpen) && strings.HasPrefix(thinkOpen, t) {
				return dst // could still become <thinking>
			}
			if !strings.HasPrefix(t, thinkOpen) {
				s.state = tsText
				continue
			}
			s.pend, s.state = t[len(thinkOpen):], tsOpened
		case tsOpened:
			if s.pend == "\r" {
				return dst // the line break may continue in the next chunk
			}
			s.pend = strings.TrimPrefix(strings.TrimPrefix(s.pend, "\r"), "\n")
			s.state = tsThinking
		case tsThinking:
			if i := strings.Index(s.pend, thinkClose); i >= 0 {
				dst = appendPiece(dst, true, s.pend[:i])
				s.pend = s.pend[i+len(thinkClose):]
				s.state = tsAfter
				continue
			}
			keep := partialSuffix(s.pend, thinkClose)
			dst = appendPiece(dst, true, s.pend[:len(s.pend)-keep])
			s.pend = s.pend[len(s.pend)-keep:]
			return dst
		case tsAfter:
			t := strings.TrimLeft(s.pend, "\r\n")
			if t == "" {
				s.pend = ""
				return dst // the blank line may continue in the next chunk
			}
			s.pend, s.state = t, tsText
		case tsText:
			dst = appendPiece(dst, false, s.pend)
			s.pend = ""
		}
	}
	return dst
}

// flush releases what is held back at the end of the answer (or before a tool call).
func (s *splitter) flush(dst []piece) []piece {
	switch s.state {
	case tsThinking, tsOpened:
		dst = appendPiece(dst, true, strings.TrimLeft(s.pend, "\r\n"))
	case tsStart, tsText:
		dst = appendPiece(dst, false, s.pend)
	}
	s.pend, s.state = "", tsText // what follows a tool call or the end is plain text
	return dst
}

func appendPiece(dst []piece, thinking bool, text string) []piece {
	if text == "" {
		return dst
	}
	return append(dst, piece{thinking: thinking, text: text})
}

// partialSuffix returns the length of the longest suffix of s that is a proper prefix of tag.
func partialSuffix(s, tag string) int {
	for n := min(len(s), len(tag)-1); n > 0; n-- {
		if strings.HasSuffix(s, tag[:n]) {
			return n
		}
	}
	return 0
}
