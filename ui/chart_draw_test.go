package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
)

// count tallies drawn shapes by kind.
func count(objs []fyne.CanvasObject) (rects, lines, texts int, last *canvas.Text) {
	for _, o := range objs {
		switch v := o.(type) {
		case *canvas.Rectangle:
			rects++
		case *canvas.Line:
			lines++
		case *canvas.Text:
			texts++
			last = v
		}
	}
	return
}

func TestPaintBars(t *testing.T) {
	test.NewTempApp(t)
	size := fyne.NewSize(400, 150)
	tests := []struct {
		name      string
		s         barSeries
		rects     int
		emptyText string
	}{
		{"empty", barSeries{empty: "nothing yet", format: formatCompact}, 0, "nothing yet"},
		{"all zero", barSeries{stacks: [][]float64{{0}, {0}}, empty: "nothing yet", format: formatCompact}, 0, "nothing yet"},
		{"plain", barSeries{labels: []string{"a", "b", "c"}, stacks: [][]float64{{1}, {2}, {3}}, format: formatCompact}, 3, ""},
		{"stacked skips zero segments", barSeries{stacks: [][]float64{{1, 0, 2}, {3, 1, 0}}, format: formatAxisUSD}, 4, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := paintBars(tt.s)(new(pen), size)
			rects, _, texts, last := count(objs)
			if rects != tt.rects {
				t.Errorf("drew %d bars, want %d", rects, tt.rects)
			}
			if tt.emptyText != "" && (texts != 1 || last.Text != tt.emptyText) {
				t.Errorf("empty chart drew %d texts, want the hint %q", texts, tt.emptyText)
			}
		})
	}
}

func TestPaintBarsGeometry(t *testing.T) {
	test.NewTempApp(t)
	size := fyne.NewSize(200+axisLeft+4, 100+axisTop+axisBottom)
	objs := paintBars(barSeries{stacks: [][]float64{{5}, {10}}, format: formatCompact})(new(pen), size)
	var bars []*canvas.Rectangle
	for _, o := range objs {
		if r, ok := o.(*canvas.Rectangle); ok {
			bars = append(bars, r)
		}
	}
	if len(bars) != 2 {
		t.Fatalf("bars = %d", len(bars))
	}
	// niceTicks(10, 5) tops the axis at 10, so the second bar fills the plot height and the first half.
	if h := bars[1].Size().Height; h != 100 {
		t.Errorf("full bar height = %v, want 100", h)
	}
	if h := bars[0].Size().Height; h != 50 {
		t.Errorf("half bar height = %v, want 50", h)
	}
	if bottom := bars[0].Position().Y + bars[0].Size().Height; bottom != axisTop+100 {
		t.Errorf("bar bottom = %v, want the x axis at %v", bottom, axisTop+100)
	}
}

func TestPaintLineAndShares(t *testing.T) {
	test.NewTempApp(t)
	size := fyne.NewSize(300, 120)
	_, lines, _, _ := count(paintLine(lineSeries{values: []float64{1, 3, 2, 5}, format: formatMs})(new(pen), size))
	// 4 samples: 3 segments plus one grid line per tick (0, 2, 4, 6 for max 5).
	if want := 3 + len(niceTicks(5, 5)); lines != want {
		t.Errorf("line chart drew %d lines, want %d", lines, want)
	}
	if _, _, texts, last := count(paintLine(lineSeries{values: []float64{4}, empty: "wait"})(new(pen), size)); texts != 1 || last.Text != "wait" {
		t.Error("a single sample should show the empty hint")
	}
	rows := []shareRow{{"a", 3, "$3"}, {"b", 1, "$1"}, {"c", 2, "$2"}, {"d", 1, "$1"}, {"e", 1, "$1"}, {"f", 1, "$1"}}
	rects, _, _, _ := count(paintShares(rows, "none")(new(pen), fyne.NewSize(300, 3*shareRowHeight)))
	if rects != 3 {
		t.Errorf("share chart of height for 3 rows drew %d bars, want 3 (rows that do not fit are dropped)", rects)
	}
}

// TestChartReusesShapes checks that a redraw draws with the shapes of the previous one instead of new
// ones, sets every field it uses, and shows only what the new paint drew.
func TestChartReusesShapes(t *testing.T) {
	test.NewTempApp(t)
	c := newChart(fyne.NewSize(300, 120), paintLine(lineSeries{values: []float64{1, 3, 2, 5}, format: formatMs,
		first: "10:00", last: "10:03", color: stateColor(StateHealthy)}))
	c.Resize(fyne.NewSize(300, 120))
	r := test.WidgetRenderer(c)
	before := map[fyne.CanvasObject]bool{}
	for _, o := range r.Objects() {
		before[o] = true
	}

	c.setPaint(paintBars(barSeries{labels: []string{"a", "b"}, stacks: [][]float64{{1}, {2}}, format: formatCompact}))
	rects, lines, texts, _ := count(r.Objects())
	if rects != 2 || lines != len(niceTicks(2, 5)) || texts != 2+len(niceTicks(2, 5)) {
		t.Fatalf("bar chart after a line chart: %d rects, %d lines, %d texts", rects, lines, texts)
	}
	for _, o := range r.Objects() {
		if l, ok := o.(*canvas.Line); ok {
			if !before[l] {
				t.Error("a grid line was made anew instead of reusing one of the line chart's")
			}
			if l.StrokeWidth != 1 || l.StrokeColor != grid() {
				t.Errorf("reused line kept the old stroke: width %v colour %v", l.StrokeWidth, l.StrokeColor)
			}
		}
		if _, ok := o.(*canvas.Circle); ok {
			t.Error("the line chart's dot is still shown on the bar chart")
		}
	}

	c.setPaint(paintLine(lineSeries{values: []float64{4}, empty: "wait"}))
	if _, _, texts, last := count(r.Objects()); len(r.Objects()) != 1 || texts != 1 || last.Text != "wait" ||
		last.TextSize != 12 || last.Alignment != fyne.TextAlignCenter {
		t.Errorf("empty hint after a bar chart: %d objects, last text %+v", len(r.Objects()), last)
	}
}

func TestEllipsize(t *testing.T) {
	test.NewTempApp(t)
	long := "claude-sonnet-4-5-20250929-with-a-very-long-suffix"
	got := ellipsize(long, 80, 11)
	if got == long || len(got) < 4 || got[len(got)-3:] != "..." {
		t.Errorf("ellipsize = %q", got)
	}
	if w := fyne.MeasureText(got, 11, fyne.TextStyle{}).Width; w > 80 {
		t.Errorf("ellipsized width %v > 80", w)
	}
	if ellipsize("short", 80, 11) != "short" {
		t.Error("short text was changed")
	}
}

func BenchmarkPaintSpend90Days(b *testing.B) {
	test.NewTempApp(b)
	d := DemoBackend()
	days := d.SpendDaily(90)
	providers := providerOrder(days)
	stacks := make([][]float64, len(days))
	labels := make([]string, len(days))
	for i, sd := range days {
		labels[i] = sd.Day.Format("Jan 2")
		for _, p := range providers {
			stacks[i] = append(stacks[i], sd.ByProvider[p])
		}
	}
	paint := paintBars(barSeries{labels: labels, stacks: stacks, format: formatAxisUSD})
	size := fyne.NewSize(880, 200)
	var pn pen
	b.ReportAllocs()
	for b.Loop() {
		pn.start()
		paint(&pn, size)
	}
}

func BenchmarkRefreshAll(b *testing.B) {
	a := test.NewTempApp(b)
	u, err := New(a, DemoBackend(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	u.async = func(f func()) { f() }
	b.ReportAllocs()
	for b.Loop() {
		u.refresh(partAll)
	}
}
