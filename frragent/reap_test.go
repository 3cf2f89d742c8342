package frragent_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldlb/herald/frragent"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		line string
		want frragent.ProcStat
		ok   bool
	}{
		{"1234 (bgpd) Z 1 1234 1234 0 -1", frragent.ProcStat{PID: 1234, PPID: 1, State: 'Z'}, true},
		{"77 (a (weird) name) S 5 77 77 0", frragent.ProcStat{PID: 77, PPID: 5, State: 'S'}, true},
		{"garbage", frragent.ProcStat{}, false},
		{"12 (x) Z", frragent.ProcStat{}, false},
	}
	for _, tc := range tests {
		got, ok := frragent.ParseProcStat(tc.line)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseProcStat(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestOrphanZombies(t *testing.T) {
	procs := []frragent.ProcStat{
		{PID: 10, PPID: 1, State: 'Z'}, // a dead daemon, seen twice before: reaped
		{PID: 14, PPID: 1, State: 'Z'}, // seen once before: not yet
		{PID: 11, PPID: 1, State: 'Z'}, // just died (or a command os/exec is about to reap): not yet
		{PID: 12, PPID: 1, State: 'S'}, // alive
		{PID: 13, PPID: 9, State: 'Z'}, // someone else's child
	}
	reap, now := frragent.OrphanZombies(procs, 1, map[int]int{10: 2, 13: 5, 14: 1})
	if diff := cmp.Diff([]int{10}, reap); diff != "" {
		t.Errorf("reap (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[int]int{10: 3, 11: 1, 14: 2}, now); diff != "" {
		t.Errorf("zombies now (-want +got):\n%s", diff)
	}
}
