package lab

import (
	"os/exec"
	"testing"
)

// TestRunningWith: a lab process restarted outside the lab's records (same
// command line, same marker) is found, so Up adopts it instead of starting
// a second copy that cannot bind the first one's ports.
func TestRunningWith(t *testing.T) {
	marker := labEnv(t.TempDir())
	cmd := exec.Command("sleep", "30")
	cmd.Env = append(cmd.Environ(), marker)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	tests := []struct {
		name   string
		marker string
		args   []string
		found  bool
	}{
		{"same command line and marker", marker, []string{"sleep", "30"}, true},
		{"other arguments", marker, []string{"sleep", "31"}, false},
		{"a prefix of the command line", marker, []string{"sleep"}, false},
		{"another lab's marker", labEnv("/nonexistent/lab"), []string{"sleep", "30"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pid := runningWith(tc.marker, tc.args)
			if got := pid == cmd.Process.Pid; got != tc.found {
				t.Errorf("runningWith(%q, %q) = %d, want found=%v (pid %d)", tc.marker, tc.args, pid, tc.found, cmd.Process.Pid)
			}
		})
	}
}
