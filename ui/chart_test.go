package ui

import (
	"math"
	"reflect"
	"testing"
)

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		name     string
		max      float64
		maxTicks int
		want     []float64
	}{
		{"zero", 0, 5, []float64{0, 1}},
		{"negative", -3, 5, []float64{0, 1}},
		{"nan", math.NaN(), 5, []float64{0, 1}},
		{"one", 1, 5, []float64{0, 0.25, 0.5, 0.75, 1}},
		{"seven", 7, 5, []float64{0, 2, 4, 6, 8}},
		{"42 requests", 42, 5, []float64{0, 20, 40, 60}},
		{"hundred exact", 100, 5, []float64{0, 25, 50, 75, 100}},
		{"dollars", 3.7, 4, []float64{0, 2, 4}},
		{"small", 0.013, 4, []float64{0, 0.005, 0.01, 0.015}},
		{"big", 12345, 5, []float64{0, 5000, 10000, 15000}},
		{"too few ticks", 10, 1, []float64{0, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := niceTicks(tt.max, tt.maxTicks)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("niceTicks(%v, %d) = %v, want %v", tt.max, tt.maxTicks, got, tt.want)
			}
			if last := got[len(got)-1]; tt.max > 0 && last < tt.max {
				t.Errorf("top tick %v does not cover max %v", last, tt.max)
			}
		})
	}
}

func TestScale(t *testing.T) {
	tests := []struct {
		name   string
		v, max float64
		length float32
		want   float32
	}{
		{"half", 5, 10, 100, 50},
		{"zero max", 5, 0, 100, 0},
		{"negative value", -1, 10, 100, 0},
		{"over max clamps", 20, 10, 100, 100},
		{"exact", 10, 10, 80, 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scale(tt.v, tt.max, tt.length); got != tt.want {
				t.Errorf("scale(%v, %v, %v) = %v, want %v", tt.v, tt.max, tt.length, got, tt.want)
			}
		})
	}
}

func TestFormatUSD(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "$0.00"},
		{0.004, "<$0.01"},
		{0.01, "$0.01"},
		{1.234, "$1.23"},
		{999.99, "$999.99"},
		{1234, "$1.2k"},
		{12345, "$12k"},
		{3_400_000, "$3.4M"},
		{-2.5, "-$2.50"},
	}
	for _, tt := range tests {
		if got := formatUSD(tt.in); got != tt.want {
			t.Errorf("formatUSD(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatAxisUSD(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "$0"},
		{0.5, "$0.50"},
		{2.5, "$2.50"},
		{20, "$20"},
		{12.5, "$12.5"},
		{5000, "$5k"},
	}
	for _, tt := range tests {
		if got := formatAxisUSD(tt.in); got != tt.want {
			t.Errorf("formatAxisUSD(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatCompact(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{7, "7"},
		{12.5, "12.5"},
		{999, "999"},
		{1000, "1k"},
		{1260, "1.3k"},
		{45_000, "45k"},
		{1_500_000, "1.5M"},
		{2_000_000_000, "2B"},
		{-1500, "-1.5k"},
	}
	for _, tt := range tests {
		if got := formatCompact(tt.in); got != tt.want {
			t.Errorf("formatCompact(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatMsAndPercent(t *testing.T) {
	ms := []struct {
		in   float64
		want string
	}{{85, "85 ms"}, {999, "999 ms"}, {1200, "1.2 s"}, {2000, "2 s"}, {15000, "15 s"}}
	for _, tt := range ms {
		if got := formatMs(tt.in); got != tt.want {
			t.Errorf("formatMs(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	pct := []struct {
		in   float64
		want string
	}{{0, "0%"}, {0.004, "<1%"}, {0.123, "12%"}, {1, "100%"}, {1.5, "100%"}}
	for _, tt := range pct {
		if got := formatPercent(tt.in); got != tt.want {
			t.Errorf("formatPercent(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShares(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want []float64
	}{
		{"split", []float64{1, 3}, []float64{0.25, 0.75}},
		{"all zero", []float64{0, 0}, []float64{0, 0}},
		{"negative ignored", []float64{-1, 2}, []float64{0, 1}},
		{"empty", nil, []float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shares(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("shares(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestLabelEvery(t *testing.T) {
	tests := []struct {
		bar, label float32
		want       int
	}{{20, 30, 2}, {40, 30, 1}, {0, 30, 1}, {3, 30, 10}}
	for _, tt := range tests {
		if got := labelEvery(tt.bar, tt.label); got != tt.want {
			t.Errorf("labelEvery(%v, %v) = %d, want %d", tt.bar, tt.label, got, tt.want)
		}
	}
}

func BenchmarkNiceTicks(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		niceTicks(float64(i%1000)+0.5, 5)
	}
}

func BenchmarkFormatUSD(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		formatUSD(float64(i%100000) / 7)
	}
}
