package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

func TestLogsRowOpensItsBodies(t *testing.T) {
	h := newDemoHarness(t)
	l := h.ui.logs
	if len(l.rows) == 0 {
		t.Fatal("the demo has no requests in the Logs tab")
	}
	l.list.Select(2)
	det := l.detail
	if det == nil {
		t.Fatal("selecting a request opened no dialog")
	}
	id := l.rows[2].RequestID
	if !strings.Contains(det.request.Text, id) || !strings.Contains(det.response.Text, "msg_"+id) {
		t.Fatalf("dialog shows request %q and response %q, want the bodies of %s", det.request.Text, det.response.Text, id)
	}
	// JSON is shown indented; Copy copies the body as stored.
	if !strings.Contains(det.request.Text, "\n  \"messages\": [") {
		t.Errorf("request body not indented: %q", det.request.Text)
	}
	want, _ := h.demo.RequestBodies(id)
	test.Tap(det.copyReq)
	if got := h.app.Clipboard().Content(); got != want.Request {
		t.Errorf("clipboard = %q, want the request body as stored %q", got, want.Request)
	}
	test.Tap(det.close)
	if l.detail != nil {
		t.Error("the dialog is still open after Close")
	}
}

// logOff is the demo with the request log off: no bodies are kept.
type logOff struct{ *Demo }

func (logOff) RequestBodies(string) (RequestBodies, error) { return RequestBodies{}, nil }

func TestLogsRowWithoutBodiesSaysHowToKeepThem(t *testing.T) {
	d := DemoBackend()
	h := newHarness(t, logOff{d}, d)
	h.ui.logs.list.Select(0)
	det := h.ui.logs.detail
	if det == nil || !strings.Contains(det.note.Text, "[request-log] enable = true") {
		t.Fatalf("dialog note = %v, want how to turn the request log on", det)
	}
}

func TestReadableJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":[1,2]}`:                 "{\n  \"a\": [\n    1,\n    2\n  ]\n}",
		`{"a":1...[truncated]`:        `{"a":1...[truncated]`,
		`upstream said: rate limited`: `upstream said: rate limited`,
		``:                            ``,
	} {
		if got := readableJSON(in); got != want {
			t.Errorf("readableJSON(%q) = %q, want %q", in, got, want)
		}
	}
}
