// Package testenv lets tests state what they need from the machine: root,
// FRR, network namespaces or the test control plane. Outside CI a test whose
// need is not met skips with the reason; under CI=true it fails, so that CI
// never passes by skipping the tests that matter.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true), where unmet needs fail.
func InCI() bool { return os.Getenv("CI") == "true" }

func unmet(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true and this test cannot run: "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}

// RequireRoot stops the test unless it runs as root on Linux.
func RequireRoot(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		unmet(t, "needs root on Linux (network namespaces, raw sockets)")
	}
}

// RequireFRR stops the test unless root and FRR's daemons, vtysh and
// frr-reload.py are installed (Debian packages frr and frr-pythontools).
func RequireFRR(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	for _, p := range []string{FRRDir + "/bgpd", FRRDir + "/zebra", FRRDir + "/bfdd", FRRDir + "/frr-reload.py"} {
		if _, err := os.Stat(p); err != nil {
			unmet(t, "needs FRR (apt-get install frr frr-pythontools): %v", err)
		}
	}
	if _, err := exec.LookPath("vtysh"); err != nil {
		unmet(t, "needs vtysh from Debian's frr package: %v", err)
	}
}

// FRRDir is where Debian installs FRR's daemons and frr-reload.py.
const FRRDir = "/usr/lib/frr"

// ControlPlane returns the folder holding etcd, kube-apiserver and kubectl
// for envtest (KUBEBUILDER_ASSETS, else bin/ at the module root), stopping
// the test when they are missing. `make control-plane` builds them.
func ControlPlane(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = filepath.Join(ModuleRoot(t), "bin")
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			unmet(t, "needs the test control plane in %s (run `make control-plane`): %v", dir, err)
		}
	}
	return dir
}

// ModuleRoot returns the folder holding herald's go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("finding the module root: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("finding the module root: no go.mod above the test's folder")
		}
		dir = parent
	}
}
