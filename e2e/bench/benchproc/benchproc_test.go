package benchproc

import (
	"os"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		line string
		want time.Duration
		ok   bool
	}{
		{"42 (herald) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 12 0 100 0 0", 2800 * time.Millisecond, true},
		{"42 (a b) c) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0", 100 * time.Millisecond, true},
		{"42 herald S", 0, false},
		{"42 (herald) S 1 2", 0, false},
	} {
		got, err := parseStat(tc.line)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseStat(%q) = %v, %v; want %v, ok %v", tc.line, got, err, tc.want, tc.ok)
		}
	}
}

func TestOwnProcess(t *testing.T) {
	if _, err := CPUTime(os.Getpid()); err != nil {
		t.Error(err)
	}
	if kb, err := Status(os.Getpid(), "VmRSS:"); err != nil || kb <= 0 {
		t.Errorf("Status VmRSS = %d, %v", kb, err)
	}
	if _, err := Status(os.Getpid(), "NoSuchField:"); err == nil {
		t.Error("Status of a missing field: no error")
	}
	if _, err := ModuleRoot(); err != nil {
		t.Error(err)
	}
}

func TestFanOut(t *testing.T) {
	var sum atomic.Int64
	if err := FanOut(5, 105, 7, func(i int) error { sum.Add(int64(i)); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := int64((5 + 104) * 100 / 2); sum.Load() != want {
		t.Errorf("sum of the indices run = %d, want %d: an index was skipped or run twice", sum.Load(), want)
	}
	if err := FanOut(0, 10, 3, func(i int) error {
		if i == 4 {
			return os.ErrInvalid
		}
		return nil
	}); err != os.ErrInvalid {
		t.Errorf("FanOut error = %v, want the work's error", err)
	}
}
