package frragent

import (
	"testing"
	"time"
)

func TestSpeakerGone(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		open     int
		closed   time.Time
		now      time.Time
		wantGone bool
		wantWait time.Duration
	}{
		{name: "connected", open: 1, closed: t0, now: t0.Add(time.Hour)},
		{name: "just left", open: 0, closed: t0, now: t0.Add(time.Second), wantWait: 9 * time.Second},
		{name: "back within the time: connected again", open: 2, closed: t0, now: t0.Add(9 * time.Second)},
		{name: "gone for the whole time", open: 0, closed: t0, now: t0.Add(10 * time.Second), wantGone: true},
		{name: "long gone", open: 0, closed: t0, now: t0.Add(time.Hour), wantGone: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gone, wait := SpeakerGone(tc.open, tc.closed, tc.now, 10*time.Second)
			if gone != tc.wantGone || wait != tc.wantWait {
				t.Errorf("SpeakerGone = %v, %v; want %v, %v", gone, wait, tc.wantGone, tc.wantWait)
			}
		})
	}
}
