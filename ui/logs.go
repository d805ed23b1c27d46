package ui

import (
	"bytes"
	"encoding/json"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// logColumns are the Logs tab's column titles.
func logColumns() []string {
	return []string{"Time", "Status", "Model", "Account", "Latency", "Tokens", "Cost", "Key"}
}

// logsTab lists recent requests; the backend masks secrets before they get here. Selecting one shows
// what the request log kept of it. UI goroutine.
type logsTab struct {
	u       *UI
	content fyne.CanvasObject
	list    *widget.List
	empty   *widget.Label
	rows    []RequestView
	detail  *requestDetail // the open request's dialog, nil when none
}

// requestDetail is the dialog showing one request's bodies.
type requestDetail struct {
	d                 dialog.Dialog
	note              *widget.Label // why there are no bodies, when there are none
	request, response *widget.Label
	copyReq, copyResp *widget.Button
	close             *widget.Button
}

func newLogsTab(u *UI) *logsTab {
	t := &logsTab{u: u}
	t.list = widget.NewList(
		func() int { return len(t.rows) },
		func() fyne.CanvasObject { return tableRow(false, make([]string, len(logColumns()))...) },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			cells := logCells(t.rows[i])
			for j, obj := range o.(*fyne.Container).Objects {
				l := obj.(*widget.Label)
				l.SetText(cells[j])
				l.Importance = widget.MediumImportance
				if j == 1 && t.rows[i].Status >= 400 {
					l.Importance = widget.DangerImportance
				}
				l.Refresh()
			}
		},
	)
	t.list.OnSelected = func(i widget.ListItemID) {
		t.list.Unselect(i)
		if i >= 0 && i < len(t.rows) {
			t.open(t.rows[i])
		}
	}
	t.empty = widget.NewLabel("No requests yet: send one to the base URL shown on the Overview tab.")
	header := tableRow(true, logColumns()...)
	t.content = container.NewBorder(container.NewVBox(header, widget.NewSeparator()), t.empty, nil, nil, t.list)
	return t
}

// logCells renders one request as the row's cells.
func logCells(r RequestView) []string {
	status := fmt.Sprint(r.Status)
	if r.Error != "" {
		status += " " + r.Error
	}
	account := joinNonEmpty(" / ", r.Provider, r.Account)
	return []string{
		r.Time.Format("15:04:05"),
		status,
		r.Model,
		account,
		formatMs(float64(r.LatencyMs)),
		formatCompact(float64(r.TokensIn)) + " / " + formatCompact(float64(r.TokensOut)),
		formatUSD(r.CostUSD),
		r.Key,
	}
}

func (t *logsTab) set(rows []RequestView) {
	t.rows = rows
	if len(rows) == 0 {
		t.empty.Show()
	} else {
		t.empty.Hide()
	}
	t.list.Refresh()
}

// open reads the request's bodies off the UI goroutine and shows them in a dialog.
func (t *logsTab) open(r RequestView) {
	t.u.async(func() {
		b, err := t.u.b.RequestBodies(r.RequestID)
		fyne.Do(func() {
			if err != nil {
				t.u.showError("Reading the request log", err)
				return
			}
			t.show(r, b)
		})
	})
}

// show opens the dialog of request r with what the log kept.
func (t *logsTab) show(r RequestView, b RequestBodies) {
	if t.detail != nil {
		t.detail.d.Hide()
	}
	det := &requestDetail{note: widget.NewLabel("")}
	det.note.Wrapping = fyne.TextWrapWord
	body := func(text string) *widget.Label {
		l := widget.NewLabel(text)
		l.Wrapping = fyne.TextWrapBreak
		l.TextStyle = fyne.TextStyle{Monospace: true}
		l.Selectable = true
		return l
	}
	det.request, det.response = body(readableJSON(b.Request)), body(readableJSON(b.Response))
	det.copyReq = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() { t.u.copyText(b.Request) })
	det.copyResp = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() { t.u.copyText(b.Response) })
	det.close = widget.NewButton("Close", nil)
	title := fmt.Sprintf("%s %s  %d  %s", r.Time.Format("15:04:05"), r.Path, r.Status, r.Model)
	var content fyne.CanvasObject
	switch {
	case b.Logged:
		section := func(name string, text *widget.Label, copyBtn *widget.Button) fyne.CanvasObject {
			head := container.NewBorder(nil, nil, widget.NewLabelWithStyle(name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), copyBtn)
			scroll := container.NewVScroll(text)
			scroll.SetMinSize(fyne.NewSize(640, 150))
			return container.NewBorder(head, nil, nil, nil, scroll)
		}
		content = container.NewVBox(section("Request", det.request, det.copyReq), section("Response", det.response, det.copyResp))
	case b.Enabled:
		det.note.SetText("The request log holds no body for this request: it was sent before the log was turned on, or it is older than the log keeps.")
		content = det.note
	default:
		det.note.SetText("Request bodies are kept only while the request log is on. Set [request-log] enable = true in the configuration file to keep them, with secrets masked, for the requests that follow.")
		content = det.note
	}
	det.d = dialog.NewCustomWithoutButtons(title, container.NewBorder(nil, container.NewHBox(layoutSpacer(), det.close), nil, nil, content), t.u.win)
	det.close.OnTapped = func() { det.d.Hide() }
	det.d.SetOnClosed(func() {
		if t.detail == det {
			t.detail = nil
		}
	})
	t.detail = det
	if b.Logged {
		det.d.Resize(fyne.NewSize(700, 460))
	} else {
		det.d.Resize(fyne.NewSize(560, 200))
	}
	det.d.Show()
}

// readableJSON indents a JSON body for reading; anything else (a body cut to max-body-kb, an error
// text) is shown as it is. Copy copies the body as stored.
func readableJSON(s string) string {
	var buf bytes.Buffer
	if len(s) == 0 || (s[0] != '{' && s[0] != '[') || json.Indent(&buf, []byte(s), "", "  ") != nil {
		return s
	}
	return buf.String()
}
