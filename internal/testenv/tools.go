package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Tool returns the path of a tool the project builds into bin/ at the module
// root (helm, kubectl), stopping the test when it is missing; target is the
// make target that builds it, named in the reason.
func Tool(t testing.TB, name, target string) string {
	t.Helper()
	p := filepath.Join(ModuleRoot(t), "bin", name)
	if _, err := os.Stat(p); err != nil {
		unmet(t, "needs bin/%s (run `make %s`): %v", name, target, err)
	}
	return p
}

// Command returns the path of a program on $PATH, stopping the test when it
// is missing; install says how to get it (e.g. the Debian package).
func Command(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		unmet(t, "needs %s (%s): %v", name, install, err)
	}
	return p
}
