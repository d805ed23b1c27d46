package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// paintFunc draws a chart at size with shapes from p and returns them (p.objs).
type paintFunc func(p *pen, size fyne.Size) []fyne.CanvasObject

// chart is a widget that redraws its canvas shapes from a paint function whenever it is resized or
// refreshed. A redraw reuses the shapes of the previous one (see pen), so a chart refreshed every second
// allocates no new canvas objects once it has been drawn.
type chart struct {
	widget.BaseWidget
	min   fyne.Size
	paint paintFunc // guarded by the UI goroutine
}

// newChart returns a chart of at least min size drawn by paint.
func newChart(min fyne.Size, paint paintFunc) *chart {
	c := &chart{min: min, paint: paint}
	c.ExtendBaseWidget(c)
	return c
}

// setPaint replaces the drawing (new data) and redraws. Call on the UI goroutine.
func (c *chart) setPaint(paint paintFunc) {
	c.paint = paint
	c.Refresh()
}

// CreateRenderer implements fyne.Widget.
func (c *chart) CreateRenderer() fyne.WidgetRenderer {
	r := &chartRenderer{c: c}
	r.Layout(c.Size())
	return r
}

type chartRenderer struct {
	c    *chart
	pen  pen
	objs []fyne.CanvasObject
}

func (r *chartRenderer) Layout(size fyne.Size) {
	if r.c.paint == nil || size.Width <= 0 || size.Height <= 0 {
		r.objs = nil
		return
	}
	r.pen.start()
	r.objs = r.c.paint(&r.pen, size)
}

func (r *chartRenderer) MinSize() fyne.Size           { return r.c.min }
func (r *chartRenderer) Objects() []fyne.CanvasObject { return r.objs }
func (r *chartRenderer) Destroy()                     {}
func (r *chartRenderer) Refresh() {
	r.Layout(r.c.Size())
	canvas.Refresh(r.c)
}

// pen hands out the shapes of one paint and collects them in objs. It reuses the shapes of the previous
// paint of the same chart, kind by kind, setting every field a chart uses: Fyne keeps each canvas object
// it has drawn in its caches for a minute after it was last seen, so a chart that made new shapes on every
// refresh would hold about sixty sets of them. The zero value is ready; start begins a paint.
type pen struct {
	rects   shapes[canvas.Rectangle]
	texts   shapes[canvas.Text]
	lines   shapes[canvas.Line]
	circles shapes[canvas.Circle]
	objs    []fyne.CanvasObject
}

// shapes are the shapes of one kind a pen has made; the first used of them are taken by the current paint.
type shapes[T any] struct {
	all  []*T
	used int
}

// next returns the first shape not taken by the current paint, making one when all are.
func (s *shapes[T]) next() *T {
	if s.used == len(s.all) {
		s.all = append(s.all, new(T))
	}
	s.used++
	return s.all[s.used-1]
}

// start begins a new paint: every shape is free again and objs is emptied (its array is reused).
func (p *pen) start() {
	p.rects.used, p.texts.used, p.lines.used, p.circles.used = 0, 0, 0, 0
	clear(p.objs)
	p.objs = p.objs[:0]
}

const (
	axisTextSize = 10
	axisLeft     = 44 // room for y labels
	axisBottom   = 16 // room for x labels
	axisTop      = 6
)

// stateColor is the colour of a health state: green, amber, blue, red; grey when unknown.
func stateColor(s State) color.Color {
	switch s {
	case StateHealthy:
		return color.NRGBA{R: 0x2e, G: 0xa0, B: 0x43, A: 0xff}
	case StateDegraded:
		return color.NRGBA{R: 0xe0, G: 0x9b, B: 0x1a, A: 0xff}
	case StateCooldown:
		return color.NRGBA{R: 0x3b, G: 0x7d, B: 0xd8, A: 0xff}
	case StateError:
		return color.NRGBA{R: 0xd6, G: 0x3b, B: 0x3b, A: 0xff}
	}
	return color.NRGBA{R: 0x8a, G: 0x8a, B: 0x8a, A: 0xff}
}

// seriesColor colours providers, models and keys in a stable order.
func seriesColor(i int) color.Color {
	palette := [...]color.NRGBA{
		{R: 0x3b, G: 0x7d, B: 0xd8, A: 0xff},
		{R: 0xe0, G: 0x7a, B: 0x1a, A: 0xff},
		{R: 0x2e, G: 0xa0, B: 0x43, A: 0xff},
		{R: 0x8e, G: 0x4e, B: 0xc6, A: 0xff},
		{R: 0xd6, G: 0x3b, B: 0x6b, A: 0xff},
		{R: 0x1a, G: 0xa3, B: 0xa3, A: 0xff},
		{R: 0x8a, G: 0x8a, B: 0x8a, A: 0xff},
	}
	return palette[i%len(palette)]
}

func fg() color.Color    { return theme.Color(theme.ColorNameForeground) }
func muted() color.Color { return theme.Color(theme.ColorNamePlaceHolder) }
func grid() color.Color  { return theme.Color(theme.ColorNameSeparator) }

// text draws s at pos, aligned around pos.X.
func (p *pen) text(s string, c color.Color, size float32, pos fyne.Position, align fyne.TextAlign) *canvas.Text {
	t := p.texts.next()
	t.Text, t.Color, t.TextSize, t.Alignment = s, c, size, align
	w := fyne.MeasureText(s, size, t.TextStyle).Width
	switch align {
	case fyne.TextAlignTrailing:
		pos.X -= w
	case fyne.TextAlignCenter:
		pos.X -= w / 2
	}
	p.place(t, pos, fyne.NewSize(w, size+4))
	return t
}

func (p *pen) rect(c color.Color, pos fyne.Position, size fyne.Size) *canvas.Rectangle {
	r := p.rects.next()
	r.FillColor = c
	p.place(r, pos, size)
	return r
}

func (p *pen) line(c color.Color, a, b fyne.Position, width float32) *canvas.Line {
	l := p.lines.next()
	l.StrokeColor, l.StrokeWidth, l.Position1, l.Position2 = c, width, a, b
	p.objs = append(p.objs, l)
	return l
}

func (p *pen) circle(c color.Color, pos fyne.Position, size fyne.Size) *canvas.Circle {
	o := p.circles.next()
	o.FillColor = c
	p.place(o, pos, size)
	return o
}

// place moves and sizes o and adds it to the paint.
func (p *pen) place(o fyne.CanvasObject, pos fyne.Position, size fyne.Size) {
	o.Move(pos)
	o.Resize(size)
	p.objs = append(p.objs, o)
}

// plot is the drawing area of an axis chart after the axes were laid out.
type plot struct {
	x, y, w, h float32 // area inside the axes
	max        float64 // value at the top of the y axis
}

func (p plot) yFor(v float64) float32 { return p.y + p.h - scale(v, p.max, p.h) }

// axes draws horizontal grid lines with y labels and returns the plot area.
func axes(pn *pen, size fyne.Size, maxVal float64, format func(float64) string) plot {
	ticks := niceTicks(maxVal, 5)
	p := plot{x: axisLeft, y: axisTop, w: size.Width - axisLeft - 4, h: size.Height - axisTop - axisBottom,
		max: ticks[len(ticks)-1]}
	if p.w < 1 || p.h < 1 {
		return p
	}
	for _, tk := range ticks {
		y := p.yFor(tk)
		pn.line(grid(), fyne.NewPos(p.x, y), fyne.NewPos(p.x+p.w, y), 1)
		pn.text(format(tk), muted(), axisTextSize, fyne.NewPos(p.x-4, y-7), fyne.TextAlignTrailing)
	}
	return p
}

// emptyChart draws a centred hint instead of an empty plot.
func emptyChart(pn *pen, size fyne.Size, msg string) []fyne.CanvasObject {
	pn.text(msg, muted(), 12, fyne.NewPos(size.Width/2, size.Height/2-8), fyne.TextAlignCenter)
	return pn.objs
}

// barSeries is the data of a (stacked) bar chart: one bar per label, one stack segment per series.
type barSeries struct {
	labels []string    // x labels, one per bar
	stacks [][]float64 // stacks[bar][series]
	format func(float64) string
	empty  string // hint when every value is zero
}

// paintBars draws stacked bars (a plain bar chart is a stack of one series).
func paintBars(s barSeries) paintFunc {
	return func(pn *pen, size fyne.Size) []fyne.CanvasObject {
		maxVal := 0.0
		for _, st := range s.stacks {
			total := 0.0
			for _, v := range st {
				if v > 0 {
					total += v
				}
			}
			if total > maxVal {
				maxVal = total
			}
		}
		if len(s.stacks) == 0 || maxVal == 0 {
			return emptyChart(pn, size, s.empty)
		}
		p := axes(pn, size, maxVal, s.format)
		if p.w < 1 || p.h < 1 {
			return pn.objs
		}
		slot := p.w / float32(len(s.stacks))
		gap := slot * 0.2
		if gap > 6 {
			gap = 6
		}
		every := labelEvery(slot, 40)
		for i, st := range s.stacks {
			x := p.x + float32(i)*slot + gap/2
			base := 0.0
			for j, v := range st {
				if v <= 0 {
					continue
				}
				top := p.yFor(base + v)
				bottom := p.yFor(base)
				pn.rect(seriesColor(j), fyne.NewPos(x, top), fyne.NewSize(slot-gap, bottom-top))
				base += v
			}
			if i < len(s.labels) && i%every == 0 {
				pn.text(s.labels[i], muted(), axisTextSize, fyne.NewPos(x+(slot-gap)/2, p.y+p.h+1), fyne.TextAlignCenter)
			}
		}
		return pn.objs
	}
}

// lineSeries is the data of a line chart over evenly spaced samples.
type lineSeries struct {
	values      []float64
	first, last string // x labels at both ends
	color       color.Color
	format      func(float64) string
	empty       string
}

// paintLine draws a polyline with a dot on the last sample.
func paintLine(s lineSeries) paintFunc {
	return func(pn *pen, size fyne.Size) []fyne.CanvasObject {
		maxVal := maxOf(s.values)
		if len(s.values) < 2 || maxVal == 0 {
			return emptyChart(pn, size, s.empty)
		}
		p := axes(pn, size, maxVal, s.format)
		if p.w < 1 || p.h < 1 {
			return pn.objs
		}
		step := p.w / float32(len(s.values)-1)
		prev := fyne.NewPos(p.x, p.yFor(s.values[0]))
		for i := 1; i < len(s.values); i++ {
			cur := fyne.NewPos(p.x+float32(i)*step, p.yFor(s.values[i]))
			pn.line(s.color, prev, cur, 2)
			prev = cur
		}
		pn.circle(s.color, fyne.NewPos(prev.X-3, prev.Y-3), fyne.NewSize(6, 6))
		pn.text(s.first, muted(), axisTextSize, fyne.NewPos(p.x, p.y+p.h+1), fyne.TextAlignLeading)
		pn.text(s.last, muted(), axisTextSize, fyne.NewPos(p.x+p.w, p.y+p.h+1), fyne.TextAlignTrailing)
		return pn.objs
	}
}

// shareRow is one row of a share-bar chart.
type shareRow struct {
	label string
	value float64
	note  string // right-hand text, e.g. "$12.30 (41%)"
}

const shareRowHeight = 24

// paintShares draws one horizontal bar per row, proportional to the largest value.
func paintShares(rows []shareRow, empty string) paintFunc {
	return func(pn *pen, size fyne.Size) []fyne.CanvasObject {
		maxVal := 0.0
		for _, r := range rows {
			if r.value > maxVal {
				maxVal = r.value
			}
		}
		if len(rows) == 0 || maxVal == 0 {
			return emptyChart(pn, size, empty)
		}
		labelW := size.Width * 0.32
		noteW := float32(110)
		barW := size.Width - labelW - noteW - 8
		if barW < 10 {
			barW = 10
		}
		for i, r := range rows {
			y := float32(i) * shareRowHeight
			if y+shareRowHeight > size.Height+1 {
				break
			}
			pn.text(ellipsize(r.label, labelW, 11), fg(), 11, fyne.NewPos(0, y+3), fyne.TextAlignLeading)
			pn.rect(seriesColor(i), fyne.NewPos(labelW, y+5), fyne.NewSize(max(scale(r.value, maxVal, barW), 2), shareRowHeight-10))
			pn.text(r.note, muted(), 11, fyne.NewPos(size.Width, y+3), fyne.TextAlignTrailing)
		}
		return pn.objs
	}
}

// ellipsize shortens s with "..." so it fits width at the given text size.
func ellipsize(s string, width, size float32) string {
	if fyne.MeasureText(s, size, fyne.TextStyle{}).Width <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 1 {
		r = r[:len(r)-1]
		if fyne.MeasureText(string(r)+"...", size, fyne.TextStyle{}).Width <= width {
			return string(r) + "..."
		}
	}
	return string(r)
}

// legend returns coloured swatches with names, for stacked charts.
func legend(names []string) fyne.CanvasObject {
	items := make([]fyne.CanvasObject, 0, 2*len(names))
	for i, n := range names {
		sw := canvas.NewRectangle(seriesColor(i))
		sw.SetMinSize(fyne.NewSize(10, 10))
		lbl := canvas.NewText(n, fg())
		lbl.TextSize = 11
		items = append(items, container.NewCenter(sw), lbl)
	}
	return container.NewHBox(items...)
}
