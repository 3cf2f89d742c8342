package speaker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/record"

	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/internal/drill"
)

// TestSpeakerDrill: a drill annotation naming this node withdraws the
// Service's prefix, records DrillStarted on the Service, and when it
// expires — nothing else changing, as when kubectl was killed — the speaker
// plans again by itself, announces the prefix and records DrillEnded.
func TestSpeakerDrill(t *testing.T) {
	cfg, c := apitest.Start(t)
	cluster(t, c)
	svc := lbService(t, c, "web", "192.0.2.10")
	lbService(t, c, "api", "192.0.2.11")
	agent := &fakeAgent{}
	events := record.NewFakeRecorder(10)
	startSpeaker(t, cfg, agent, func(sc *Config) { sc.Events = events })
	eventually(t, "both advertised", func() bool {
		return cmp.Equal(agent.advertised("198.51.100.1"), []string{"192.0.2.10/32", "192.0.2.11/32"})
	})

	// Long enough for the speaker to see it on a loaded machine; the
	// expiry then needs no other change to be followed.
	expiry := time.Now().Add(4 * time.Second)
	svc.Annotations = map[string]string{drill.Annotation: drill.Drill{Node: "node1", Expiry: expiry}.String()}
	if err := c.Update(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, "web withdrawn during the drill", func() bool {
		return cmp.Equal(agent.advertised("198.51.100.1"), []string{"192.0.2.11/32"})
	})
	if time.Now().After(expiry) {
		t.Fatalf("the drill was seen only after its expiry: the machine is too slow for this test's 4 s")
	}
	ev := nextEvent(t, events)
	if !strings.Contains(ev, ReasonDrillStarted) || !strings.Contains(ev, "node node1 gives the Service up") {
		t.Errorf("event %q, want %s naming node1", ev, ReasonDrillStarted)
	}
	eventually(t, "web announced again after the expiry", func() bool {
		return cmp.Equal(agent.advertised("198.51.100.1"), []string{"192.0.2.10/32", "192.0.2.11/32"})
	})
	if time.Now().Before(expiry) {
		t.Errorf("announced again before the expiry %s", expiry)
	}
	if ev := nextEvent(t, events); !strings.Contains(ev, ReasonDrillEnded) {
		t.Errorf("event %q, want %s", ev, ReasonDrillEnded)
	}
}

// nextEvent returns the next event recorded, failing after 10 s.
func nextEvent(t *testing.T, r *record.FakeRecorder) string {
	t.Helper()
	select {
	case ev := <-r.Events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event recorded within 10 s")
		return ""
	}
}
