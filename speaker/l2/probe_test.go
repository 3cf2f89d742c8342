package l2

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// probeStep is one thing that happens to a ProbeTracker at a time (ms from
// the start): a Set, a Claim, or a Due; after it, the IPs probed, whether
// it changed, the phase of the IP and the conflicts reported.
type probeStep struct {
	at    int
	set   map[netip.Addr]bool
	claim *Claim
	due   bool

	wantProbe     []netip.Addr
	wantChanged   bool
	wantPhase     Phase
	wantConflicts []Conflict
}

func TestProbeTracker(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.10")
	squatter := net.HardwareAddr{2, 0, 0, 0, 0, 0x64}
	other := net.HardwareAddr{2, 0, 0, 0, 0, 0x65}
	use := &Claim{IP: ip, MAC: squatter, Kind: ClaimUse}
	useOther := &Claim{IP: ip, MAC: other, Kind: ClaimUse}
	probe := &Claim{IP: ip, MAC: squatter, Kind: ClaimProbe}
	start := time.Unix(1000, 0)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	probeIt := map[netip.Addr]bool{ip: true}
	takeover := map[netip.Addr]bool{ip: false}
	one := []netip.Addr{ip}
	conflict := func(since int, answering bool, mac net.HardwareAddr) []Conflict {
		return []Conflict{{IP: ip, Interface: "eth0", MAC: mac, Answering: answering, Since: at(since)}}
	}

	tests := []struct {
		name  string
		steps []probeStep
	}{
		{"free: three probes, answered 300ms after the last", []probeStep{
			{at: 0, set: probeIt, wantPhase: PhaseProbing},
			{at: 0, due: true, wantProbe: one, wantPhase: PhaseProbing},
			{at: 100, due: true, wantPhase: PhaseProbing},
			{at: 150, due: true, wantProbe: one, wantPhase: PhaseProbing},
			{at: 300, due: true, wantProbe: one, wantPhase: PhaseProbing},
			{at: 599, due: true, wantPhase: PhaseProbing},
			{at: 600, due: true, wantChanged: true, wantPhase: PhaseAnswering},
		}},
		{"a takeover is answered at once", []probeStep{
			{at: 0, set: takeover, wantPhase: PhaseAnswering},
			{at: 0, due: true, wantPhase: PhaseAnswering},
		}},
		{"a probe answered: conflict, not answered, re-probed with backoff until free", []probeStep{
			{at: 0, set: probeIt, wantPhase: PhaseProbing},
			{at: 0, due: true, wantProbe: one, wantPhase: PhaseProbing},
			{at: 2, claim: use, wantChanged: true, wantPhase: PhaseConflict, wantConflicts: conflict(2, false, squatter)},
			{at: 150, due: true, wantPhase: PhaseConflict, wantConflicts: conflict(2, false, squatter)},
			// First re-probe 1s after the claim, answered: the next 2s later.
			{at: 1002, due: true, wantProbe: one, wantPhase: PhaseConflict, wantConflicts: conflict(2, false, squatter)},
			{at: 1003, claim: use, wantPhase: PhaseConflict, wantConflicts: conflict(2, false, squatter)},
			{at: 3002, due: true, wantPhase: PhaseConflict, wantConflicts: conflict(2, false, squatter)},
			{at: 3003, due: true, wantProbe: one, wantPhase: PhaseConflict, wantConflicts: conflict(2, false, squatter)},
			// The squatter is gone: three probes unanswered.
			{at: 3153, due: true, wantProbe: one, wantPhase: PhaseConflict, wantConflicts: conflict(2, false, squatter)},
			{at: 3303, due: true, wantProbe: one, wantPhase: PhaseConflict, wantConflicts: conflict(2, false, squatter)},
			{at: 3603, due: true, wantChanged: true, wantPhase: PhaseAnswering},
		}},
		{"another host's probe while probing is a conflict (RFC 5227 2.1.1)", []probeStep{
			{at: 0, set: probeIt, wantPhase: PhaseProbing},
			{at: 0, due: true, wantProbe: one, wantPhase: PhaseProbing},
			{at: 10, claim: probe, wantChanged: true, wantPhase: PhaseConflict, wantConflicts: conflict(10, false, squatter)},
		}},
		{"another host's probe while answering is not", []probeStep{
			{at: 0, set: takeover, wantPhase: PhaseAnswering},
			{at: 10, claim: probe, wantPhase: PhaseAnswering},
		}},
		{"a gratuitous ARP while answering: contested, still answered, cleared once probes go unanswered", []probeStep{
			{at: 0, set: takeover, wantPhase: PhaseAnswering},
			{at: 50, claim: use, wantChanged: true, wantPhase: PhaseContested, wantConflicts: conflict(50, true, squatter)},
			{at: 1049, due: true, wantPhase: PhaseContested, wantConflicts: conflict(50, true, squatter)},
			{at: 1050, due: true, wantProbe: one, wantPhase: PhaseContested, wantConflicts: conflict(50, true, squatter)},
			{at: 1200, due: true, wantProbe: one, wantPhase: PhaseContested, wantConflicts: conflict(50, true, squatter)},
			{at: 1350, due: true, wantProbe: one, wantPhase: PhaseContested, wantConflicts: conflict(50, true, squatter)},
			{at: 1650, due: true, wantChanged: true, wantPhase: PhaseAnswering},
		}},
		{"a new MAC claiming a conflicting IP is reported", []probeStep{
			{at: 0, set: takeover, wantPhase: PhaseAnswering},
			{at: 50, claim: use, wantChanged: true, wantPhase: PhaseContested, wantConflicts: conflict(50, true, squatter)},
			{at: 60, claim: useOther, wantChanged: true, wantPhase: PhaseContested, wantConflicts: conflict(50, true, other)},
		}},
		{"an IP no longer owned is forgotten with its conflict", []probeStep{
			{at: 0, set: takeover, wantPhase: PhaseAnswering},
			{at: 50, claim: use, wantChanged: true, wantPhase: PhaseContested, wantConflicts: conflict(50, true, squatter)},
			{at: 60, set: map[netip.Addr]bool{}, wantPhase: 0},
			{at: 70, claim: use, wantPhase: 0},
			// Owned again later: probed afresh.
			{at: 80, set: probeIt, wantPhase: PhaseProbing},
		}},
		{"a claim for an IP not tracked changes nothing", []probeStep{
			{at: 0, claim: use, wantPhase: 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewProbeTracker(ProbeConfig{})
			for i, s := range tc.steps {
				now := at(s.at)
				var probe []netip.Addr
				var changed bool
				switch {
				case s.set != nil:
					tr.Set(s.set, now)
				case s.claim != nil:
					changed = tr.Claim(s.claim.IP, "eth0", *s.claim, now)
				case s.due:
					probe, changed = tr.Due(now)
				}
				if diff := cmp.Diff(s.wantProbe, probe, addrCmp); diff != "" {
					t.Errorf("step %d (%dms): probes (-want +got):\n%s", i, s.at, diff)
				}
				if changed != s.wantChanged {
					t.Errorf("step %d (%dms): changed = %v, want %v", i, s.at, changed, s.wantChanged)
				}
				if got := tr.Phase(ip); got != s.wantPhase {
					t.Errorf("step %d (%dms): phase %v, want %v", i, s.at, got, s.wantPhase)
				}
				wantAnswer := s.wantPhase == PhaseAnswering || s.wantPhase == PhaseContested
				if got := tr.Answerable(ip); got != wantAnswer {
					t.Errorf("step %d (%dms): answerable = %v, want %v", i, s.at, got, wantAnswer)
				}
				if diff := cmp.Diff(s.wantConflicts, tr.Conflicts(), addrCmp); diff != "" {
					t.Errorf("step %d (%dms): conflicts (-want +got):\n%s", i, s.at, diff)
				}
			}
		})
	}
}

func TestProbeTrackerNext(t *testing.T) {
	start := time.Unix(1000, 0)
	tr := NewProbeTracker(ProbeConfig{})
	if !tr.Next().IsZero() {
		t.Fatalf("Next with nothing tracked = %v, want zero", tr.Next())
	}
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8:200::1")
	tr.Set(map[netip.Addr]bool{a: true, b: false}, start)
	if got := tr.Next(); !got.Equal(start) {
		t.Errorf("Next = %v, want %v (a's first probe)", got, start)
	}
	if probe, _ := tr.Due(start); !cmp.Equal(probe, []netip.Addr{a}, addrCmp) {
		t.Errorf("Due = %v, want [%s]", probe, a)
	}
	if got, want := tr.Next(), start.Add(150*time.Millisecond); !got.Equal(want) {
		t.Errorf("Next = %v, want %v (a's second probe)", got, want)
	}
}
