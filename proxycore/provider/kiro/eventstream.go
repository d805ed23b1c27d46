package kiro

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// AWS event-stream framing (application/vnd.amazon.eventstream), as the AWS documentation describes it
// ("Event stream encoding", Amazon Transcribe and Amazon Lex V2 developer guides) and the AWS SDKs
// implement it (smithy-rs aws-smithy-eventstream frame.rs): a 12-byte prelude of total length, headers
// length and the CRC32 of those 8 bytes; the headers; the payload; then the CRC32 of everything before
// it. All integers are big-endian and both checksums are IEEE CRC32 (the gzip/zlib one). A header is a
// 1-byte name length, the name, a 1-byte value type and a value whose shape the type selects.

const (
	preludeLen = 12
	crcLen     = 4
	// minFrameLen is a frame with no headers and no payload.
	minFrameLen = preludeLen + crcLen
	// MaxFrameSize caps one frame (the AWS SDKs refuse messages over 16 MiB), so a corrupt length can
	// never make the decoder allocate more than this.
	MaxFrameSize = 16 << 20
)

// Header value types of the event-stream encoding.
const (
	hTrue      = 0
	hFalse     = 1
	hByte      = 2
	hInt16     = 3
	hInt32     = 4
	hInt64     = 5
	hByteArray = 6
	hString    = 7
	hTimestamp = 8
	hUUID      = 9
)

// ErrChecksum reports a frame whose prelude or message CRC32 does not match its bytes.
var ErrChecksum = errors.New("event stream frame failed its CRC32 check")

// ErrFrame reports a structurally invalid frame (lengths that disagree, a bad header).
var ErrFrame = errors.New("malformed event stream frame")

// Frame is one decoded event-stream message. The string headers the CodeWhisperer stream uses are
// kept by name; Payload aliases the decoder's buffer and is valid until the next call to Next.
type Frame struct {
	MessageType   string // ":message-type": event, exception or error
	EventType     string // ":event-type"
	ExceptionType string // ":exception-type"
	ErrorCode     string // ":error-code"
	ErrorMessage  string // ":error-message"
	ContentType   string // ":content-type"
	Payload       []byte
}

// Decoder reads frames from a byte stream. Reads may split frames anywhere; Next assembles them. It
// reuses one buffer, grown as frame bytes actually arrive (so a corrupt length claiming a huge frame
// costs nothing until the bytes come) and never past MaxFrameSize.
type Decoder struct {
	r   *bufio.Reader
	buf []byte
}

// NewDecoder returns a decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 16<<10)}
}

// Next decodes the next frame into f. It returns io.EOF at a clean end between frames,
// io.ErrUnexpectedEOF when the stream stops inside a frame, an error wrapping ErrChecksum or ErrFrame
// for corrupt input, and read errors as they come.
func (d *Decoder) Next(f *Frame) error {
	var pre [preludeLen]byte
	n, err := io.ReadFull(d.r, pre[:])
	if err != nil {
		if err == io.EOF && n == 0 {
			return io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	total := binary.BigEndian.Uint32(pre[0:4])
	hlen := binary.BigEndian.Uint32(pre[4:8])
	if want, got := binary.BigEndian.Uint32(pre[8:12]), crc32.ChecksumIEEE(pre[0:8]); want != got {
		return fmt.Errorf("%w: prelude CRC is %08x, the frame says %08x", ErrChecksum, got, want)
	}
	if total < minFrameLen || total > MaxFrameSize {
		return fmt.Errorf("%w: total length %d outside %d..%d", ErrFrame, total, minFrameLen, MaxFrameSize)
	}
	if hlen > total-minFrameLen {
		return fmt.Errorf("%w: headers length %d exceeds the frame", ErrFrame, hlen)
	}
	rest := int(total) - preludeLen
	// Read in chunks that at most double what already arrived, so memory follows the bytes received.
	body := d.buf[:0]
	for len(body) < rest {
		chunk := min(rest-len(body), max(64<<10, len(body)))
		body = slices.Grow(body, chunk)
		n, err := io.ReadFull(d.r, body[len(body):len(body)+chunk])
		body = body[:len(body)+n]
		if err != nil {
			d.buf = body
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	d.buf = body
	msgEnd := rest - crcLen
	crc := crc32.Update(crc32.ChecksumIEEE(pre[:]), crc32.IEEETable, body[:msgEnd])
	if want := binary.BigEndian.Uint32(body[msgEnd:]); want != crc {
		return fmt.Errorf("%w: message CRC is %08x, the frame says %08x", ErrChecksum, crc, want)
	}
	*f = Frame{Payload: body[hlen:msgEnd]}
	return parseHeaders(body[:hlen], f)
}

// parseHeaders walks the header block, keeping the string headers Frame names.
func parseHeaders(h []byte, f *Frame) error {
	for len(h) > 0 {
		nlen := int(h[0])
		if nlen == 0 || len(h) < 1+nlen+1 {
			return fmt.Errorf("%w: header name", ErrFrame)
		}
		name := h[1 : 1+nlen]
		typ := h[1+nlen]
		h = h[2+nlen:]
		var size int
		switch typ {
		case hTrue, hFalse:
			size = 0
		case hByte:
			size = 1
		case hInt16:
			size = 2
		case hInt32:
			size = 4
		case hInt64, hTimestamp:
			size = 8
		case hUUID:
			size = 16
		case hByteArray, hString:
			if len(h) < 2 {
				return fmt.Errorf("%w: header %q value length", ErrFrame, name)
			}
			size = 2 + int(binary.BigEndian.Uint16(h))
		default:
			return fmt.Errorf("%w: header %q has unknown value type %d", ErrFrame, name, typ)
		}
		if len(h) < size {
			return fmt.Errorf("%w: header %q value is cut off", ErrFrame, name)
		}
		if typ == hString {
			v := intern(h[2:size])
			switch string(name) {
			case ":message-type":
				f.MessageType = v
			case ":event-type":
				f.EventType = v
			case ":exception-type":
				f.ExceptionType = v
			case ":error-code":
				f.ErrorCode = v
			case ":error-message":
				f.ErrorMessage = v
			case ":content-type":
				f.ContentType = v
			}
		}
		h = h[size:]
	}
	return nil
}

// intern returns the header values the CodeWhisperer stream repeats on every frame without allocating.
func intern(b []byte) string {
	switch string(b) {
	case "event":
		return "event"
	case "exception":
		return "exception"
	case "error":
		return "error"
	case "application/json":
		return "application/json"
	case "assistantResponseEvent":
		return "assistantResponseEvent"
	case "toolUseEvent":
		return "toolUseEvent"
	case "meteringEvent":
		return "meteringEvent"
	case "contextUsageEvent":
		return "contextUsageEvent"
	case "messageMetadataEvent":
		return "messageMetadataEvent"
	}
	return string(b)
}
