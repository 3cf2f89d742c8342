package testenv

import (
	"os"
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
