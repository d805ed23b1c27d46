package ui

import (
	"fmt"
	"image/color"
	"reflect"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// overviewTab shows the proxy status, traffic charts and live credential health. UI goroutine.
type overviewTab struct {
	u        *UI
	content  fyne.CanvasObject
	status   *widget.Label
	problem  *widget.Label
	baseURL  *widget.Label
	key      *widget.Label
	requests *canvas.Text
	spend    *canvas.Text
	themed   []themedObject // canvas objects whose colours follow the theme
	rpm      *chart
	p95      *chart
	health   *fyne.Container
	// shown is the health data on screen; an equal refresh skips the (text-measuring) rebuild.
	shown    []HealthView
	hasShown bool
}

func newOverviewTab(u *UI) *overviewTab {
	t := &overviewTab{u: u}
	t.status = widget.NewLabelWithStyle("Starting...", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	t.problem = widget.NewLabel("")
	t.problem.Importance = widget.DangerImportance
	t.problem.Wrapping = fyne.TextWrapWord
	t.problem.Hide()
	t.baseURL = widget.NewLabel("")
	t.key = widget.NewLabel("")
	t.requests = bigNumber("0")
	t.spend = bigNumber("$0.00")
	t.themed = append(t.themed, themedText{t.requests, theme.ColorNameForeground},
		themedText{t.spend, theme.ColorNameForeground})
	copyURL := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() { u.copyText(u.status.BaseURL) })
	copyKey := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), u.copyClientKey)

	conn := widget.NewForm(
		widget.NewFormItem("Base URL", container.NewBorder(nil, nil, nil, copyURL, t.baseURL)),
		widget.NewFormItem("API key", container.NewBorder(nil, nil, nil, copyKey, t.key)),
	)
	cards := container.NewGridWithColumns(2,
		t.card("Requests today", t.requests),
		t.card("Spend today", t.spend),
	)
	top := container.NewVBox(t.status, t.problem, container.NewGridWithColumns(2, conn, cards))

	t.rpm = newChart(fyne.NewSize(260, 140), nil)
	t.p95 = newChart(fyne.NewSize(260, 140), nil)
	charts := container.NewGridWithColumns(2,
		titled("Requests per minute (last hour)", t.rpm),
		titled("p95 latency (last hour)", t.p95),
	)
	t.health = container.NewVBox()
	healthBox := container.NewBorder(widget.NewLabelWithStyle("Credential health", fyne.TextAlignLeading,
		fyne.TextStyle{Bold: true}), nil, nil, nil, container.NewVScroll(t.health))
	t.content = container.NewBorder(container.NewVBox(top, widget.NewSeparator(), charts), nil, nil, nil, healthBox)
	t.setHealth(nil)
	t.setTraffic(nil, nil)
	return t
}

func bigNumber(s string) *canvas.Text {
	t := canvas.NewText(s, theme.Color(theme.ColorNameForeground))
	t.TextSize = 22
	t.TextStyle.Bold = true
	return t
}

// card is a titled box for one big number.
func (t *overviewTab) card(title string, value fyne.CanvasObject) fyne.CanvasObject {
	lbl := canvas.NewText(title, theme.Color(theme.ColorNamePlaceHolder))
	lbl.TextSize = 11
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bg.CornerRadius = 6
	t.themed = append(t.themed, themedText{lbl, theme.ColorNamePlaceHolder}, themedRect{bg, theme.ColorNameInputBackground})
	return container.NewStack(bg, container.NewPadded(container.NewVBox(lbl, value)))
}

// themedObject re-reads its colour from the current theme.
type themedObject interface{ retheme() }

type themedText struct {
	t    *canvas.Text
	name fyne.ThemeColorName
}

func (x themedText) retheme() { x.t.Color = theme.Color(x.name); x.t.Refresh() }

type themedRect struct {
	r    *canvas.Rectangle
	name fyne.ThemeColorName
}

func (x themedRect) retheme() { x.r.FillColor = theme.Color(x.name); x.r.Refresh() }

// retheme updates the colours fixed at construction after a theme change (e.g. dark mode).
func (t *overviewTab) retheme() {
	t.hasShown = false // state badges carry colours too
	for _, o := range t.themed {
		o.retheme()
	}
}

func titled(title string, obj fyne.CanvasObject) fyne.CanvasObject {
	lbl := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	return container.NewBorder(lbl, nil, nil, nil, obj)
}

func (t *overviewTab) setStatus(s StatusView) {
	t.status.SetText(statusLine(s))
	if s.LastError != "" {
		t.problem.SetText(s.LastError)
		t.problem.Show()
	} else {
		t.problem.Hide()
	}
	t.baseURL.SetText(s.BaseURL)
	t.key.SetText(s.MaskedKey)
	t.requests.Text = formatCompact(float64(s.RequestsToday))
	t.requests.Refresh()
	t.spend.Text = formatUSD(s.SpendToday)
	t.spend.Refresh()
}

func (t *overviewTab) setTraffic(rpm, p95 []Point) {
	t.rpm.setPaint(paintBars(barSeries{
		labels: minuteLabels(rpm),
		stacks: stacksOf(rpm),
		format: formatCompact,
		empty:  "No requests in the last hour: point your tools at the base URL",
	}))
	values := make([]float64, len(p95))
	for i, p := range p95 {
		values[i] = p.Value
	}
	first, last := "", ""
	if len(p95) > 0 {
		first, last = p95[0].Time.Format("15:04"), p95[len(p95)-1].Time.Format("15:04")
	}
	t.p95.setPaint(paintLine(lineSeries{values: values, first: first, last: last,
		color: stateColor(StateCooldown), format: formatMs, empty: "No latency samples yet"}))
}

// minuteLabels labels every bar with its "15:04" time; paintBars thins them to fit.
func minuteLabels(pts []Point) []string {
	out := make([]string, len(pts))
	for i, p := range pts {
		out[i] = p.Time.Format("15:04")
	}
	return out
}

func stacksOf(pts []Point) [][]float64 {
	out := make([][]float64, len(pts))
	for i, p := range pts {
		out[i] = []float64{p.Value}
	}
	return out
}

func (t *overviewTab) setHealth(rows []HealthView) {
	if t.hasShown && reflect.DeepEqual(rows, t.shown) {
		return
	}
	t.shown, t.hasShown = rows, true
	if len(rows) == 0 {
		t.health.Objects = []fyne.CanvasObject{widget.NewLabel(
			"No credentials yet: log in from the Accounts tab or add an API key to config.toml.")}
		t.health.Refresh()
		return
	}
	objs := make([]fyne.CanvasObject, 0, len(rows)+1)
	objs = append(objs, tableRow(true, "State", "Credential", "Model", "p95", "In flight", "Failures"))
	now := t.u.now()
	for _, h := range rows {
		state := string(h.State)
		if h.State == StateCooldown && !h.CooldownUntil.IsZero() {
			state += " " + untilText(h.CooldownUntil, now)
		}
		row := tableRow(false, "", h.Credential, h.Model, formatMs(h.P95Ms), fmt.Sprint(h.InFlight),
			formatPercent(h.FailureRate))
		grid := row.(*fyne.Container)
		grid.Objects[0] = stateBadge(h.State, state)
		objs = append(objs, row)
	}
	t.health.Objects = objs
	t.health.Refresh()
}

// tableRow is one row of equal-width, ellipsized cells; header rows are bold.
func tableRow(header bool, cells ...string) fyne.CanvasObject {
	objs := make([]fyne.CanvasObject, len(cells))
	for i, c := range cells {
		l := widget.NewLabel(c)
		l.TextStyle.Bold = header
		l.Truncation = fyne.TextTruncateEllipsis
		objs[i] = l
	}
	return container.NewGridWithColumns(len(cells), objs...)
}

// stateBadge is a coloured dot followed by the state text.
func stateBadge(s State, label string) fyne.CanvasObject {
	dot := canvas.NewCircle(stateColor(s))
	dot.Resize(fyne.NewSize(10, 10))
	holder := container.NewWithoutLayout(dot)
	dot.Move(fyne.NewPos(2, -5))
	txt := canvas.NewText(label, stateColor(s))
	txt.TextStyle.Bold = true
	txt.TextSize = 12
	return container.NewHBox(container.NewCenter(sized(holder, 14, 1)), container.NewCenter(txt))
}

// sized gives obj a fixed minimum size.
func sized(obj fyne.CanvasObject, w, h float32) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(w, h))
	return container.NewStack(r, obj)
}

// untilText says how long until t, e.g. "(22m)".
func untilText(t, now time.Time) string {
	d := t.Sub(now).Round(time.Minute)
	if d <= 0 {
		return ""
	}
	if d >= time.Hour {
		return fmt.Sprintf("(%dh%02dm)", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("(%dm)", int(d.Minutes()))
}
