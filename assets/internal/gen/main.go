//go:build ignore

// Command gen draws the application icons once: go run ./assets/internal/gen (from the module root).
// It writes assets/icon.png (512x512) and assets/tray.png (64x64): a rounded square with two opposed
// arrows, the "requests in, requests out" of a proxy.
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

func main() {
	if err := write("assets/icon.png", 512, 1.0); err != nil {
		log.Fatal(err)
	}
	// The tray variant uses thicker strokes so it stays legible at 16-24 px.
	if err := write("assets/tray.png", 64, 1.45); err != nil {
		log.Fatal(err)
	}
}

func write(path string, size int, stroke float64) error {
	img := render(size, stroke)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return png.Encode(f, img)
}

// render draws in unit coordinates (0..1) with 4x4 supersampling.
func render(size int, stroke float64) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/ss) / float64(size)
					y := (float64(py) + (float64(sy)+0.5)/ss) / float64(size)
					cr, cg, cb, ca := shade(x, y, stroke)
					r += cr * ca
					g += cg * ca
					b += cb * ca
					a += ca
				}
			}
			n := float64(ss * ss)
			if a > 0 {
				r, g, b = r/a, g/a, b/a
			}
			img.SetNRGBA(px, py, color.NRGBA{R: u8(r), G: u8(g), B: u8(b), A: u8(a / n)})
		}
	}
	return img
}

func u8(v float64) uint8 { return uint8(math.Round(math.Max(0, math.Min(1, v)) * 255)) }

// shade returns the colour and coverage of one sample.
func shade(x, y, stroke float64) (r, g, b, a float64) {
	if roundedBox(x-0.5, y-0.5, 0.46, 0.46, 0.11) > 0 {
		return 0, 0, 0, 0
	}
	// Vertical gradient from teal to indigo.
	t := y
	r = lerp(0.10, 0.24, t)
	g = lerp(0.62, 0.30, t)
	b = lerp(0.78, 0.72, t)
	w := 0.045 * stroke
	// Upper arrow pointing right, lower arrow pointing left.
	if segment(x, y, 0.24, 0.38, 0.66, 0.38) < w || triangle(x, y, 0.78, 0.38, 0.62, 0.27, 0.62, 0.49, stroke) {
		return 1, 1, 1, 1
	}
	if segment(x, y, 0.34, 0.62, 0.76, 0.62) < w || triangle(x, y, 0.22, 0.62, 0.38, 0.51, 0.38, 0.73, stroke) {
		return 1, 1, 1, 1
	}
	return r, g, b, 1
}

func lerp(a, b, t float64) float64 { return a + (b-a)*t }

// roundedBox is the signed distance to a box of half-size (hx, hy) with corner radius rad.
func roundedBox(x, y, hx, hy, rad float64) float64 {
	qx := math.Abs(x) - hx + rad
	qy := math.Abs(y) - hy + rad
	return math.Hypot(math.Max(qx, 0), math.Max(qy, 0)) + math.Min(math.Max(qx, qy), 0) - rad
}

// segment is the distance from (x, y) to the segment (ax, ay)-(bx, by).
func segment(x, y, ax, ay, bx, by float64) float64 {
	px, py := x-ax, y-ay
	dx, dy := bx-ax, by-ay
	h := math.Max(0, math.Min(1, (px*dx+py*dy)/(dx*dx+dy*dy)))
	return math.Hypot(px-dx*h, py-dy*h)
}

// triangle reports whether (x, y) is inside the arrow head with tip (tx, ty); stroke scales it about the
// middle of its base.
func triangle(x, y, tx, ty, ax, ay, bx, by, stroke float64) bool {
	mx, my := (ax+bx)/2, (ay+by)/2
	s := math.Sqrt(stroke)
	tx, ty = mx+(tx-mx)*s, my+(ty-my)*s
	ax, ay = mx+(ax-mx)*s, my+(ay-my)*s
	bx, by = mx+(bx-mx)*s, my+(by-my)*s
	d1 := (x-bx)*(ty-by) - (tx-bx)*(y-by)
	d2 := (x-tx)*(ay-ty) - (ax-tx)*(y-ty)
	d3 := (x-ax)*(by-ay) - (bx-ax)*(y-ay)
	neg := d1 < 0 || d2 < 0 || d3 < 0
	pos := d1 > 0 || d2 > 0 || d3 > 0
	return !(neg && pos)
}
