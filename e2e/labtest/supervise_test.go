package labtest

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldlb/herald/e2e/lab"
)

// TestSupervisorRestarts kills herald's components in the lab with
// SIGKILL, as a crash or the OOM killer would: their supervisors start
// them again after the kubelet's first backoff (10 s), the restarts are
// counted, and the lab is healthy again. It prints how long each took.
func TestSupervisorRestarts(t *testing.T) {
	l := Up(t, lab.Options{})
	RequireComponents(t, l, lab.Controller, lab.Speaker, lab.FRRAgent)
	for _, name := range []string{lab.Speaker + "/node1", lab.FRRAgent + "/node2", lab.Controller} {
		before, err := l.KillComponent(name)
		if err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		st := WaitRestarted(t, l, name, before, 2*time.Minute)
		t.Logf("%s: SIGKILLed, running again %.1fs later (restarts %d)", name, time.Since(killed).Seconds(), st.Restarts)
	}
	Eventually(t, 2*time.Minute, "the lab healthy again", func() string {
		if ok, bad := l.Status(t.Context()).Healthy(); !ok {
			return strings.Join(bad, "; ")
		}
		return ""
	})
}
