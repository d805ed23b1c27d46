package ui

import (
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// spendRanges are the range selector's choices, in days.
func spendRanges() []int { return []int{7, 30, 90} }

// spendTab charts spend per day by provider, and shares by model and by key. UI goroutine.
type spendTab struct {
	u        *UI
	content  fyne.CanvasObject
	rng      *widget.RadioGroup
	total    *widget.Label
	daily    *chart
	legend   *fyne.Container
	shownFor []string // the providers the legend shows
	byModel  *chart
	byKey    *chart
	applying bool // set while set() moves the radio, so it does not trigger a refetch
}

func newSpendTab(u *UI) *spendTab {
	t := &spendTab{u: u}
	opts := make([]string, 0, 3)
	for _, d := range spendRanges() {
		opts = append(opts, rangeLabel(d))
	}
	t.rng = widget.NewRadioGroup(opts, t.rangeChanged)
	t.rng.Horizontal = true
	t.rng.Required = true
	t.total = widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
	t.daily = newChart(fyne.NewSize(400, 170), nil)
	t.legend = container.NewHBox()
	t.byModel = newChart(fyne.NewSize(260, 5*shareRowHeight), nil)
	t.byKey = newChart(fyne.NewSize(260, 5*shareRowHeight), nil)
	top := container.NewBorder(nil, nil, t.rng, nil, t.total)
	dailyBox := container.NewBorder(
		widget.NewLabelWithStyle("Spend per day by provider", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		t.legend, nil, nil, t.daily)
	shares := container.NewGridWithColumns(2, titled("By model", t.byModel), titled("By key", t.byKey))
	t.content = container.NewBorder(top, shares, nil, nil, dailyBox)
	t.set(30, nil, nil, nil)
	return t
}

func rangeLabel(days int) string { return fmt.Sprintf("%d days", days) }

func (t *spendTab) rangeChanged(sel string) {
	if t.applying {
		return
	}
	for _, d := range spendRanges() {
		if rangeLabel(d) == sel {
			t.u.spendDays.Store(int32(d))
			t.u.async(func() { t.u.refresh(partSpend) })
		}
	}
}

func (t *spendTab) set(days int, daily []SpendDay, byModel, byKey []SpendShare) {
	t.applying = true
	t.rng.SetSelected(rangeLabel(days))
	t.applying = false

	providers := providerOrder(daily)
	labels := make([]string, len(daily))
	stacks := make([][]float64, len(daily))
	var total float64
	for i, d := range daily {
		labels[i] = d.Day.Format("Jan 2")
		st := make([]float64, len(providers))
		for j, p := range providers {
			st[j] = d.ByProvider[p]
			total += st[j]
		}
		stacks[i] = st
	}
	t.total.SetText(fmt.Sprintf("Total %s over %d days", formatUSD(total), days))
	t.daily.setPaint(paintBars(barSeries{labels: labels, stacks: stacks, format: formatAxisUSD,
		empty: "No spend recorded yet: it appears here after the first request"}))
	if t.legend.Objects == nil || !slices.Equal(providers, t.shownFor) {
		t.legend.Objects = []fyne.CanvasObject{legend(providers)}
		t.legend.Refresh()
		t.shownFor = providers
	}
	t.byModel.setPaint(paintShares(shareRows(byModel), "No spend by model yet"))
	t.byKey.setPaint(paintShares(shareRows(byKey), "No spend by key yet"))
}

// shareRows turns spend shares into chart rows with "$12.30 (41%)" notes, largest first.
func shareRows(in []SpendShare) []shareRow {
	values := make([]float64, len(in))
	for i, s := range in {
		values[i] = s.USD
	}
	frac := shares(values)
	rows := make([]shareRow, len(in))
	for i, s := range in {
		rows[i] = shareRow{label: s.Name, value: s.USD,
			note: fmt.Sprintf("%s (%s)", formatUSD(s.USD), formatPercent(frac[i]))}
	}
	// Stable insertion sort: a handful of rows.
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rows[j].value > rows[j-1].value; j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
	return rows
}

// joinNonEmpty joins the non-empty strings with sep.
func joinNonEmpty(sep string, parts ...string) string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
