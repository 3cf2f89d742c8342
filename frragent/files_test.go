package frragent_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/heraldlb/herald/frragent"
)

// TestTempDir: New empties the agent's private folder of what a killed
// agent left (and removes the temporary files older agents left beside
// frr.conf), makes it 0700, and Close removes it.
func TestTempDir(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "frr.conf")
	priv := frragent.TempDir(conf)
	leftovers := []string{
		filepath.Join(priv, ".frr-candidate-1.conf"),
		filepath.Join(priv, "herald-frr-reload-conf-1", "frr.conf"),
		filepath.Join(dir, ".frr-candidate-2.conf"),
		filepath.Join(dir, ".frr-conf-3.tmp"),
	}
	for _, f := range leftovers {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("neighbor 198.51.100.1 password x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(dir, "kept.conf")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := frragent.New(frragent.Options{
		Vtysh:      func(context.Context, ...string) (string, error) { return "", nil },
		Reload:     func(context.Context, string) (string, error) { return "", nil },
		ConfigPath: conf,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range leftovers {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s survives New (stat: %v)", f, err)
		}
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("New removed a file that is not the agent's: %v", err)
	}
	info, err := os.Stat(priv)
	if err != nil || info.Mode().Perm() != 0o700 || !info.IsDir() {
		t.Fatalf("the agent's folder %s: %v (stat: %v), want a 0700 folder", priv, info.Mode(), err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(priv); !os.IsNotExist(err) {
		t.Errorf("%s survives Close (stat: %v)", priv, err)
	}
}
