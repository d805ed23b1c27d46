package translate

import "encoding/binary"

// ValidJSON reports whether b is one valid JSON value (RFC 8259) with only whitespace around it,
// accepting exactly what encoding/json.Valid accepts: strings may hold any bytes but control
// characters, invalid UTF-8 included (encoding/json replaces it when decoding), and values nest at most
// 10,000 deep.
//
// It runs on every request body before anything else reads it, and coding tools send bodies of
// hundreds of kilobytes that are mostly string content, so strings are scanned eight bytes at a time;
// it is several times faster than encoding/json.Valid, whose scanner takes a function call per byte.
func ValidJSON(b []byte) bool {
	v := validator{b: b}
	i, ok := v.value(skipWS(b, 0))
	return ok && skipWS(b, i) == len(b)
}

// maxValidDepth is encoding/json's nesting limit.
const maxValidDepth = 10000

type validator struct {
	b     []byte
	depth int
}

// value checks the value starting at b[i] and returns the index after it.
func (v *validator) value(i int) (int, bool) {
	b := v.b
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; c {
	case '"':
		return validString(b, i)
	case '{':
		return v.object(i)
	case '[':
		return v.array(i)
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return validNumber(b, i)
		}
		return i, false
	}
}

func literal(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

func (v *validator) enter() bool {
	v.depth++
	return v.depth <= maxValidDepth
}

func (v *validator) object(i int) (int, bool) {
	if !v.enter() {
		return i, false
	}
	b := v.b
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		v.depth--
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		var ok bool
		if i, ok = validString(b, i); !ok {
			return i, false
		}
		if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
			return i, false
		}
		if i, ok = v.value(skipWS(b, i+1)); !ok {
			return i, false
		}
		var more bool
		if i, more, ok = v.after(i, '}'); !more {
			return i, ok
		}
	}
}

func (v *validator) array(i int) (int, bool) {
	if !v.enter() {
		return i, false
	}
	b := v.b
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		v.depth--
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = v.value(i); !ok {
			return i, false
		}
		var more bool
		if i, more, ok = v.after(i, ']'); !more {
			return i, ok
		}
	}
}

// after reads what follows a member or an element at b[i:]: a comma, when more follow (next is then
// where the next one starts), or the closing bracket, which leaves the container (next is after it).
func (v *validator) after(i int, closing byte) (next int, more, ok bool) {
	b := v.b
	if i = skipWS(b, i); i >= len(b) {
		return i, false, false
	}
	switch b[i] {
	case ',':
		return skipWS(b, i+1), true, true
	case closing:
		v.depth--
		return i + 1, false, true
	}
	return i, false, false
}

// validString checks the string whose opening quote is b[i] and returns the index after its closing
// quote. Runs without a quote, backslash or control character are skipped eight bytes at a time.
func validString(b []byte, i int) (int, bool) {
	i++
	for {
		for len(b)-i >= 8 && !specialInString(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			return i, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		default:
			i++
		}
	}
}

// specialInString reports whether any of the eight bytes in w is a quote, a backslash or a control
// character (below 0x20). Each test is the exact "has a zero byte" / "has a byte less than n" trick, so
// a word without such a byte is never reported.
func specialInString(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := w ^ (ones * '"')
	backslash := w ^ (ones * '\\')
	return ((quote-ones)&^quote|(backslash-ones)&^backslash|(w-ones*0x20)&^w)&highs != 0
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// validNumber checks the number starting at b[i]: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

// digits returns the index of the first byte at or after i that is not an ASCII digit.
func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}
