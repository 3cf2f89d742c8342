package labtest

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/heraldlb/herald/e2e/lab"
)

// WaitRestarted waits, at most timeout, until the supervisor of component
// name has started it again after a kill (lab.Lab.KillComponent returned
// before) and the new process runs, and returns the supervisor's status.
// It fails t when the component does not come back, or when its last exit
// was not the SIGKILL.
func WaitRestarted(t testing.TB, l *lab.Lab, name string, before lab.SupervisorStatus, timeout time.Duration) lab.SupervisorStatus {
	t.Helper()
	var st lab.SupervisorStatus
	Eventually(t, timeout, name+" restarted by its supervisor", func() string {
		var err error
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
	return st
}
