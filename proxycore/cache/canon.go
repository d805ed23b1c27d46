package cache

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth matches encoding/json's nesting limit, so both accept the same documents.
const maxDepth = 10000

// Canonicalize re-encodes a JSON document (RFC 8259) with object members sorted by key, duplicate keys
// resolved to the last one (as encoding/json does), insignificant whitespace removed, numbers kept as
// written and strings re-escaped minimally, so "\u0041" and "A" become the same text. Invalid UTF-8 and
// lone surrogates become U+FFFD, again as encoding/json decodes them.
//
// It scans the bytes once and writes the result directly, without building a map tree, because it runs
// on every cacheable request and prompts can be hundreds of kilobytes.
func Canonicalize(body []byte) ([]byte, error) {
	c := canonicalizer{out: make([]byte, 0, len(body))}
	if err := c.run(body); err != nil {
		return nil, err
	}
	return c.out, nil
}

type canonicalizer struct {
	in    []byte
	out   []byte
	depth int
	spans []member // members of the objects being parsed, innermost last
	tmp   []byte   // scratch for reordering one object

	// streamTrue: the last top-level member named "stream" (in any letter case, as encoding/json
	// matches struct fields) has the value true.
	streamTrue bool
}

// run canonicalizes body into c.out, which it appends to.
func (c *canonicalizer) run(body []byte) error {
	c.in, c.depth, c.streamTrue = body, 0, false
	i, err := c.value(c.skip(0))
	if err != nil {
		return err
	}
	if i = c.skip(i); i != len(body) {
		return c.errAt(i, "data after the top-level value")
	}
	return nil
}

// canonPool recycles canonicalizers (and their buffers) between requests, so computing a key allocates
// nothing but the key itself.
var canonPool = sync.Pool{New: func() any { return new(canonicalizer) }}

// maxPooledBuffer bounds the buffers kept in canonPool; a larger body's buffer is left to the GC.
const maxPooledBuffer = 1 << 20

func putCanonicalizer(c *canonicalizer) {
	c.in = nil
	if cap(c.out) > maxPooledBuffer || cap(c.tmp) > maxPooledBuffer {
		return
	}
	canonPool.Put(c)
}

// member locates one `"key":value` in out.
type member struct{ start, keyEnd, end int }

func (c *canonicalizer) errAt(i int, msg string) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", i, msg)
}

func (c *canonicalizer) skip(i int) int { return skipSpace(c.in, i) }

// skipSpace returns the index of the first byte at or after i in b that is not JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (c *canonicalizer) value(i int) (int, error) {
	if i >= len(c.in) {
		return i, c.errAt(i, "unexpected end of input")
	}
	switch ch := c.in[i]; {
	case ch == '{':
		return c.object(i)
	case ch == '[':
		return c.array(i)
	case ch == '"':
		return c.str(i)
	case ch == '-' || (ch >= '0' && ch <= '9'):
		return c.number(i)
	case ch == 't':
		return c.literal(i, "true")
	case ch == 'f':
		return c.literal(i, "false")
	case ch == 'n':
		return c.literal(i, "null")
	default:
		return i, c.errAt(i, fmt.Sprintf("unexpected character %q", ch))
	}
}

func (c *canonicalizer) literal(i int, lit string) (int, error) {
	if !bytes.HasPrefix(c.in[i:], []byte(lit)) {
		return i, c.errAt(i, "invalid literal")
	}
	c.out = append(c.out, lit...)
	return i + len(lit), nil
}

func (c *canonicalizer) number(i int) (int, error) {
	start := i
	digits := func() bool {
		s := i
		for i < len(c.in) && c.in[i] >= '0' && c.in[i] <= '9' {
			i++
		}
		return i > s
	}
	if c.in[i] == '-' {
		i++
	}
	switch {
	case i < len(c.in) && c.in[i] == '0':
		i++
	case !digits():
		return i, c.errAt(i, "invalid number")
	}
	if i < len(c.in) && c.in[i] == '.' {
		i++
		if !digits() {
			return i, c.errAt(i, "invalid number fraction")
		}
	}
	if i < len(c.in) && (c.in[i] == 'e' || c.in[i] == 'E') {
		i++
		if i < len(c.in) && (c.in[i] == '+' || c.in[i] == '-') {
			i++
		}
		if !digits() {
			return i, c.errAt(i, "invalid number exponent")
		}
	}
	c.out = append(c.out, c.in[start:i]...)
	return i, nil
}

func (c *canonicalizer) enter(i int) error {
	c.depth++
	if c.depth > maxDepth {
		return c.errAt(i, "nested too deeply")
	}
	return nil
}

func (c *canonicalizer) array(i int) (int, error) {
	if err := c.enter(i); err != nil {
		return i, err
	}
	defer func() { c.depth-- }()
	c.out = append(c.out, '[')
	i = c.skip(i + 1)
	if i < len(c.in) && c.in[i] == ']' {
		c.out = append(c.out, ']')
		return i + 1, nil
	}
	for {
		var err error
		if i, err = c.value(i); err != nil {
			return i, err
		}
		i = c.skip(i)
		if i >= len(c.in) {
			return i, c.errAt(i, "unterminated array")
		}
		switch c.in[i] {
		case ',':
			c.out = append(c.out, ',')
			i = c.skip(i + 1)
		case ']':
			c.out = append(c.out, ']')
			return i + 1, nil
		default:
			return i, c.errAt(i, "expected ',' or ']'")
		}
	}
}

func (c *canonicalizer) object(i int) (int, error) {
	if err := c.enter(i); err != nil {
		return i, err
	}
	defer func() { c.depth-- }()
	c.out = append(c.out, '{')
	objStart := len(c.out)
	base := len(c.spans)
	i = c.skip(i + 1)
	if i < len(c.in) && c.in[i] == '}' {
		c.out = append(c.out, '}')
		return i + 1, nil
	}
	for {
		if i >= len(c.in) || c.in[i] != '"' {
			return i, c.errAt(i, "expected a string key")
		}
		start := len(c.out)
		var err error
		if i, err = c.str(i); err != nil {
			return i, err
		}
		keyEnd := len(c.out)
		if i = c.skip(i); i >= len(c.in) || c.in[i] != ':' {
			return i, c.errAt(i, "expected ':'")
		}
		c.out = append(c.out, ':')
		if i, err = c.value(c.skip(i + 1)); err != nil {
			return i, err
		}
		c.spans = append(c.spans, member{start: start, keyEnd: keyEnd, end: len(c.out)})
		if c.depth == 1 && bytes.EqualFold(c.out[start+1:keyEnd-1], streamKey) {
			c.streamTrue = string(c.out[keyEnd+1:]) == "true"
		}
		if i = c.skip(i); i >= len(c.in) {
			return i, c.errAt(i, "unterminated object")
		}
		if c.in[i] == '}' {
			break
		}
		if c.in[i] != ',' {
			return i, c.errAt(i, "expected ',' or '}'")
		}
		c.out = append(c.out, ',')
		i = c.skip(i + 1)
	}
	c.sortMembers(objStart, c.spans[base:])
	c.spans = c.spans[:base]
	c.out = append(c.out, '}')
	return i + 1, nil
}

// sortMembers rewrites the object body out[objStart:] with members ordered by their canonical key
// bytes, keeping only the last of duplicate keys. Ordering by the canonical encoding is a total order
// on decoded keys, since equal keys have equal encodings.
func (c *canonicalizer) sortMembers(objStart int, ms []member) {
	key := func(buf []byte, m member, off int) []byte { return buf[m.start-off : m.keyEnd-off] }
	sorted := true
	for j := 1; j < len(ms); j++ {
		if bytes.Compare(key(c.out, ms[j-1], 0), key(c.out, ms[j], 0)) >= 0 {
			sorted = false
			break
		}
	}
	if sorted {
		return
	}
	c.tmp = append(c.tmp[:0], c.out[objStart:]...)
	slices.SortStableFunc(ms, func(a, b member) int {
		return bytes.Compare(key(c.tmp, a, objStart), key(c.tmp, b, objStart))
	})
	c.out = c.out[:objStart]
	wrote := false
	for j, m := range ms {
		if j+1 < len(ms) && bytes.Equal(key(c.tmp, m, objStart), key(c.tmp, ms[j+1], objStart)) {
			continue // a later duplicate wins
		}
		if wrote {
			c.out = append(c.out, ',')
		}
		c.out = append(c.out, c.tmp[m.start-objStart:m.end-objStart]...)
		wrote = true
	}
}

// str decodes the JSON string at in[i] and writes its canonical encoding.
func (c *canonicalizer) str(i int) (int, error) {
	c.out = append(c.out, '"')
	i++
	// The next quote and the next backslash before it, found with IndexByte and kept until i passes
	// them, so that a string costs one fast scan for each however often the loop below stops in it.
	quote, backslash := -1, -1
	for {
		if quote < i {
			quote = indexFrom(c.in, i, len(c.in), '"')
			backslash = -1
		}
		if backslash < i {
			backslash = indexFrom(c.in, i, quote, '\\')
		}
		// Copy the run up to the quote or backslash, or up to a control character (an error), in one go:
		// it is found eight bytes at a time, and valid UTF-8, ASCII or not, is copied as it is.
		end := backslash
		run := i
		for i+8 <= end && !hasControl(binary.LittleEndian.Uint64(c.in[i:])) {
			i += 8
		}
		for i < end && c.in[i] >= 0x20 {
			i++
		}
		if utf8.Valid(c.in[run:i]) {
			c.out = append(c.out, c.in[run:i]...)
		} else {
			c.out = appendReplacingInvalid(c.out, c.in[run:i])
		}
		if i >= len(c.in) {
			return i, c.errAt(i, "unterminated string")
		}
		switch ch := c.in[i]; {
		case ch == '"':
			c.out = append(c.out, '"')
			return i + 1, nil
		case ch < 0x20:
			return i, c.errAt(i, "control character in string")
		default: // backslash
			r, n, err := c.escape(i)
			if err != nil {
				return i, err
			}
			c.out = appendRune(c.out, r)
			i += n
		}
	}
}

// indexFrom returns the index of the first b in in[from:to], or to when there is none.
func indexFrom(in []byte, from, to int, b byte) int {
	if j := bytes.IndexByte(in[from:to], b); j >= 0 {
		return from + j
	}
	return to
}

// streamKey is the member name encoding/json matches, case-insensitively, to a "stream" field.
var streamKey = []byte("stream")

// hasControl reports whether any of the eight bytes in w is a control character (below 0x20), with the
// classic exact "has a byte less than n" bit trick.
func hasControl(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	return (w-ones*0x20)&^w&highs != 0
}

// appendReplacingInvalid appends s with each byte that is not part of valid UTF-8 replaced by U+FFFD, as
// encoding/json decodes it.
func appendReplacingInvalid(out, s []byte) []byte {
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, s[:size]...)
		}
		s = s[size:]
	}
	return out
}

// escape decodes the escape sequence at in[i] (a backslash) into a rune and its length in bytes.
func (c *canonicalizer) escape(i int) (rune, int, error) {
	if i+1 >= len(c.in) {
		return 0, 0, c.errAt(i, "unterminated escape")
	}
	switch e := c.in[i+1]; e {
	case '"', '\\', '/':
		return rune(e), 2, nil
	case 'b':
		return '\b', 2, nil
	case 'f':
		return '\f', 2, nil
	case 'n':
		return '\n', 2, nil
	case 'r':
		return '\r', 2, nil
	case 't':
		return '\t', 2, nil
	case 'u':
		r, ok := hex4(c.in[i+2:])
		if !ok {
			return 0, 0, c.errAt(i, "invalid \\u escape")
		}
		if !utf16.IsSurrogate(r) {
			return r, 6, nil
		}
		// A surrogate pair spans two escapes; a lone surrogate decodes to U+FFFD (as encoding/json).
		if len(c.in) >= i+12 && c.in[i+6] == '\\' && c.in[i+7] == 'u' {
			if r2, ok := hex4(c.in[i+8:]); ok {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					return dec, 12, nil
				}
			}
		}
		return utf8.RuneError, 6, nil
	default:
		return 0, 0, c.errAt(i, "invalid escape")
	}
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, ch := range b[:4] {
		switch {
		case ch >= '0' && ch <= '9':
			ch -= '0'
		case ch >= 'a' && ch <= 'f':
			ch = ch - 'a' + 10
		case ch >= 'A' && ch <= 'F':
			ch = ch - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(ch)
	}
	return r, true
}

// appendRune writes r inside a JSON string, escaping only what RFC 8259 requires.
func appendRune(b []byte, r rune) []byte {
	const hexDigits = "0123456789abcdef"
	switch {
	case r == '"' || r == '\\':
		return append(b, '\\', byte(r))
	case r == '\n':
		return append(b, '\\', 'n')
	case r == '\r':
		return append(b, '\\', 'r')
	case r == '\t':
		return append(b, '\\', 't')
	case r < 0x20:
		return append(b, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
	default:
		return utf8.AppendRune(b, r)
	}
}
