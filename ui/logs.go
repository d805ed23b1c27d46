package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// logColumns are the Logs tab's column titles.
func logColumns() []string {
	return []string{"Time", "Status", "Model", "Account", "Latency", "Tokens", "Cost", "Key"}
}

// logsTab lists recent requests; the backend masks secrets before they get here. UI goroutine.
type logsTab struct {
	content fyne.CanvasObject
	list    *widget.List
	empty   *widget.Label
	rows    []RequestView
}

func newLogsTab(_ *UI) *logsTab {
	t := &logsTab{}
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
