package clock

import (
	"testing"
	"time"
)

func TestFakeAdvances(t *testing.T) {
	start := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	f := NewFake(start)
	f.Advance(90 * time.Second)
	if got, want := f.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Fatalf("Now() = %v, want %v", got, want)
	}
	f.Set(start)
	if !f.Now().Equal(start) {
		t.Fatalf("Set did not move the clock")
	}
}

func TestOrDefaultsToRealClock(t *testing.T) {
	if _, ok := Or(nil).(Real); !ok {
		t.Fatalf("Or(nil) should be the real clock")
	}
	f := NewFake(time.Time{})
	if Or(f) != Clock(f) {
		t.Fatalf("Or(f) should return f")
	}
}
