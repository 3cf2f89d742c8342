package frragent_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frragent/client"
	"github.com/heraldlb/herald/frrconfig"
)

// TestAgentWithdrawsWhenSpeakerGone drives a real FRR through the agent
// as a speaker would and then goes away as a SIGKILLed speaker does (its
// connections close, it says no goodbye): back within WithdrawAfter, the
// router keeps the routes throughout; gone longer, the agent withdraws
// them while the session and BFD stay up; back and applying, the routes
// return.
func TestAgentWithdrawsWhenSpeakerGone(t *testing.T) {
	const after = 3 * time.Second
	l := newLab(t, func(o *frragent.Options) { o.WithdrawAfter = after })
	ctx := context.Background()
	cfg := nodeConfig([]frrconfig.Advertisement{{Prefix: pfx("192.0.2.30/32")}, {Prefix: pfx("192.0.2.31/32")}}, nil, 300)
	want := map[string]route{"192.0.2.30/32": {LocalPref: 100}, "192.0.2.31/32": {LocalPref: 100}}

	first := l.client // waitBFD reads the state through it too
	if res, err := first.Apply(ctx, 1, cfg); err != nil || !res.Success {
		t.Fatalf("applying the first config: %+v, %v", res, err)
	}
	l.waitRIB(t, "ipv4", want)
	l.waitBFD(t, 300)
	bfdDowns := l.bfdDowns(t)

	// A restart within WithdrawAfter: no withdrawal, the router's routes
	// stay (sampled 5 times a second over twice WithdrawAfter).
	first.CloseIdleConnections()
	gone := time.Now()
	second := client.New(l.sock)
	reconnected := false
	for time.Since(gone) < 2*after {
		if !reconnected && time.Since(gone) > after/2 {
			if _, err := second.State(ctx); err != nil {
				t.Fatal(err)
			}
			reconnected = true
		}
		got, err := l.rib(ctx, "ipv4")
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(want, got) {
			t.Fatalf("%v after the speaker left (it came back after %v), the router's routes changed (-want +got):\n%s",
				time.Since(gone).Round(time.Millisecond), after/2, cmp.Diff(want, got))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Gone for good: the agent withdraws after WithdrawAfter.
	second.CloseIdleConnections()
	gone = time.Now()
	deadline := gone.Add(after + 30*time.Second)
	for {
		got, err := l.rib(ctx, "ipv4")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the speaker has been gone %v (WithdrawAfter %v) and the router still has %v", time.Since(gone).Round(time.Millisecond), after, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("speaker gone: routes withdrawn at the router %v after its connections closed (WithdrawAfter %v)", time.Since(gone).Round(time.Millisecond), after)
	if st := l.routerSessionState(t); st != "Established" {
		t.Errorf("after the withdrawal the router's session with the node is %s, want Established (only prefixes withdrawn)", st)
	}
	if d := l.bfdDowns(t); d != bfdDowns {
		t.Errorf("BFD went down %d times during the withdrawal, want 0", d-bfdDowns)
	}

	// The speaker is back and applies its config: announced again.
	third := client.New(l.sock)
	if res, err := third.Apply(ctx, 2, cfg); err != nil || !res.Success {
		t.Fatalf("applying after the speaker's return: %+v, %v", res, err)
	}
	l.waitRIB(t, "ipv4", want)
	l.checkRunning(t, cfg)
}

// routerSessionState returns the router's BGP state with the node's IPv4
// address.
func (l *lab) routerSessionState(t *testing.T) string {
	t.Helper()
	out, err := l.router.Vtysh(context.Background(), "-c", "show bgp neighbors 198.51.100.11 json")
	if err != nil {
		t.Fatal(err)
	}
	var peers map[string]struct {
		State string `json:"bgpState"`
	}
	if err := json.Unmarshal([]byte(out), &peers); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	return peers["198.51.100.11"].State
}
