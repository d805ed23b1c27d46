package config

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// tableHeader is one [table] or [[array table]] header of a document.
type tableHeader struct {
	line  int      // 1-based line of the header
	parts []string // key parts, unquoted
	// indexed is the key with the array index of every array-table part, e.g. "openai-compatible[1].models[0]".
	indexed string
}

// indexHeaders lists the document's table headers in order, so that an unknown key reported by the
// decoder as "openai.api_key" can be named "openai[1].api_key". It stops at the first parse error
// (the decoder reports those).
func indexHeaders(data []byte) []tableHeader {
	var headers []tableHeader
	arrays := map[string]bool{} // plain dotted paths declared as array tables
	counts := map[string]int{}  // indexed path of an array table -> elements so far
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		if e.Kind != unstable.Table && e.Kind != unstable.ArrayTable {
			continue
		}
		h := tableHeader{line: -1}
		it := e.Key()
		for it.Next() {
			n := it.Node()
			if h.line < 0 {
				h.line = 1 + bytes.Count(data[:n.Raw.Offset], []byte{'\n'})
			}
			h.parts = append(h.parts, string(n.Data))
		}
		var indexed string
		for i, part := range h.parts {
			indexed = joinKey(indexed, quoteKey(part))
			plain := strings.Join(h.parts[:i+1], "\x00")
			switch {
			case i == len(h.parts)-1 && e.Kind == unstable.ArrayTable:
				arrays[plain] = true
				n := counts[indexed]
				counts[indexed] = n + 1
				indexed += "[" + strconv.Itoa(n) + "]"
			case arrays[plain] && counts[indexed] > 0:
				indexed += "[" + strconv.Itoa(counts[indexed]-1) + "]"
			}
		}
		h.indexed = indexed
		headers = append(headers, h)
	}
	return headers
}

// indexedKey names key (the parts the decoder reported at line) with array indexes taken from the
// last header at or before line; keys outside array tables come back dotted.
func indexedKey(headers []tableHeader, key []string, line int) string {
	var cur *tableHeader
	for i := range headers {
		if headers[i].line > line {
			break
		}
		cur = &headers[i]
	}
	if cur != nil && len(cur.parts) <= len(key) && equalParts(cur.parts, key[:len(cur.parts)]) {
		out := cur.indexed
		for _, part := range key[len(cur.parts):] {
			out = joinKey(out, quoteKey(part))
		}
		return out
	}
	var out string
	for _, part := range key {
		out = joinKey(out, quoteKey(part))
	}
	return out
}

func equalParts(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
