package ui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// This file holds the pure scaling and formatting functions behind the charts, kept free of Fyne so
// they are table-tested on their own.

// niceTicks returns evenly spaced axis ticks from 0 up to a "nice" ceiling (1, 2 or 5 times a power
// of ten per step) that covers max, with at most maxTicks ticks. The last tick is the axis maximum.
func niceTicks(max float64, maxTicks int) []float64 {
	if maxTicks < 2 {
		maxTicks = 2
	}
	if !(max > 0) || math.IsInf(max, 0) {
		return []float64{0, 1}
	}
	step := niceStep(max / float64(maxTicks-1))
	n := int(math.Ceil(max/step - 1e-9))
	if n < 1 {
		n = 1
	}
	ticks := make([]float64, 0, n+1)
	for i := 0; i <= n; i++ {
		// Multiply rather than accumulate so 0.1-steps do not drift.
		ticks = append(ticks, clean(float64(i)*step))
	}
	return ticks
}

// niceStep rounds a raw step up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	exp := math.Floor(math.Log10(raw))
	pow := math.Pow(10, exp)
	f := raw / pow
	switch {
	case f <= 1:
		f = 1
	case f <= 2:
		f = 2
	case f <= 2.5:
		f = 2.5
	case f <= 5:
		f = 5
	default:
		f = 10
	}
	return f * pow
}

// clean removes floating-point noise (0.015000000000000001 -> 0.015) by a round trip through 12
// significant digits.
func clean(v float64) float64 {
	c, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		return v
	}
	return c
}

// scale maps v in [0, max] onto [0, length] pixels, clamping outside values.
func scale(v, max float64, length float32) float32 {
	if !(max > 0) || !(v > 0) {
		return 0
	}
	if v >= max {
		return length
	}
	return float32(v / max * float64(length))
}

// formatUSD formats dollars for labels: "$0.00", "<$0.01", "$12.34", "$1.2k", "$3.4M".
func formatUSD(v float64) string {
	if v < 0 {
		return "-" + formatUSD(-v)
	}
	switch {
	case v == 0:
		return "$0.00"
	case v < 0.01:
		return "<$0.01"
	case v < 1000:
		return "$" + strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return "$" + compact(v)
	}
}

// formatAxisUSD formats dollars for axis ticks, where cents are noise above $10: "$0", "$0.50", "$20".
func formatAxisUSD(v float64) string {
	switch {
	case v == 0:
		return "$0"
	case v < 10:
		return "$" + strconv.FormatFloat(v, 'f', 2, 64)
	case v < 1000:
		return "$" + trimZero(strconv.FormatFloat(v, 'f', 1, 64))
	default:
		return "$" + compact(v)
	}
}

// formatCompact formats counts: "0", "999", "1.2k", "45k", "1.5M", "2B"; fractions below 1000 keep one
// decimal ("12.5").
func formatCompact(v float64) string {
	if v < 0 {
		return "-" + formatCompact(-v)
	}
	if v < 1000 {
		return trimZero(strconv.FormatFloat(v, 'f', 1, 64))
	}
	return compact(v)
}

// compact writes v >= 1000 with a k, M or B suffix: one decimal below 10 units, none above.
func compact(v float64) string {
	units := []struct {
		div    float64
		suffix string
	}{{1e9, "B"}, {1e6, "M"}, {1e3, "k"}}
	for _, u := range units {
		if v >= u.div {
			x := v / u.div
			if x < 10 {
				return trimZero(strconv.FormatFloat(x, 'f', 1, 64)) + u.suffix
			}
			return strconv.FormatFloat(math.Round(x), 'f', 0, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// formatMs formats a latency: "85 ms", "1.2 s", "12 s".
func formatMs(ms float64) string {
	switch {
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	case ms < 10000:
		return trimZero(strconv.FormatFloat(ms/1000, 'f', 1, 64)) + " s"
	default:
		return fmt.Sprintf("%.0f s", ms/1000)
	}
}

// formatPercent formats a 0..1 ratio: "0%", "<1%", "12%", "100%".
func formatPercent(r float64) string {
	switch {
	case r <= 0:
		return "0%"
	case r < 0.01:
		return "<1%"
	default:
		return fmt.Sprintf("%.0f%%", math.Min(r, 1)*100)
	}
}

// shares returns each value's fraction of the total (all zero when the total is not positive).
func shares(values []float64) []float64 {
	var total float64
	for _, v := range values {
		if v > 0 {
			total += v
		}
	}
	out := make([]float64, len(values))
	if total <= 0 {
		return out
	}
	for i, v := range values {
		if v > 0 {
			out[i] = v / total
		}
	}
	return out
}

// maxOf returns the largest value, or 0 for none.
func maxOf(values []float64) float64 {
	m := 0.0
	for _, v := range values {
		if v > m {
			m = v
		}
	}
	return m
}

// labelEvery returns how many bars to skip between x-axis labels so labels of labelWidth pixels do not
// overlap on bars of barWidth pixels.
func labelEvery(barWidth, labelWidth float32) int {
	if barWidth <= 0 {
		return 1
	}
	n := int(math.Ceil(float64(labelWidth / barWidth)))
	if n < 1 {
		return 1
	}
	return n
}
