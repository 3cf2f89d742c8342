package labtest

import (
	"fmt"
	"os"
	"strings"
	"syscall"
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
		before, err := l.Supervisor(name)
		if err != nil {
			t.Fatal(err)
		}
		if before.PID == 0 {
			t.Fatalf("%s is not running: %+v", name, before)
		}
		if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
			t.Fatalf("killing %s (pid %d): %v", name, before.PID, err)
		}
		killed := time.Now()
		var st lab.SupervisorStatus
		Eventually(t, 2*time.Minute, name+" restarted by its supervisor", func() string {
			st, err = l.Supervisor(name)
			switch {
			case err != nil:
				return err.Error()
			case st.Restarts != before.Restarts+1 || st.PID == 0 || st.PID == before.PID:
				return fmt.Sprintf("supervisor status %+v (before the kill %+v)", st, before)
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", st.PID)); err != nil {
				return "the restarted pid does not run: " + err.Error()
			}
			return ""
		})
		if st.LastExit != "killed by "+syscall.SIGKILL.String() {
			t.Errorf("%s: last exit %q, want killed by %s", name, st.LastExit, syscall.SIGKILL)
		}
		t.Logf("%s: SIGKILLed, running again %.1fs later (restarts %d)", name, time.Since(killed).Seconds(), st.Restarts)
	}
	Eventually(t, 2*time.Minute, "the lab healthy again", func() string {
		if ok, bad := l.Status(t.Context()).Healthy(); !ok {
			return strings.Join(bad, "; ")
		}
		return ""
	})
}
