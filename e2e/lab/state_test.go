package lab

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
)

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lab.lock")
	ctx := context.Background()
	first, err := acquireLock(ctx, path, logr.Discard())
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := acquireLock(short, path, logr.Discard()); err == nil || !strings.Contains(err.Error(), "one lab runs per machine") {
		t.Fatalf("second lock while the first is held: error %v, want a wait that names the holder", err)
	}
	// A waiter gets the lock once the holder releases and removes it.
	got := make(chan error, 1)
	go func() {
		l, err := acquireLock(ctx, path, logr.Discard())
		if err == nil {
			l.release(false)
		}
		got <- err
	}()
	time.Sleep(150 * time.Millisecond)
	first.release(true)
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("lock after release: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiter never got the lock after the holder released it")
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := &State{
		Nodes: 3, HeraldBin: "/bin/herald",
		Namespaces: []string{"hlab-lan"}, Links: []string{"hlab-mgmt"}, FRR: []string{"hlab-router"},
		Procs: map[string]Proc{"etcd": {Name: "etcd", PID: 42, Args: []string{"etcd", "--name", "x"}, Log: "/l"}},
	}
	if err := writeState(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := readState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state round trip (-want +got):\n%s", diff)
	}
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readState(dir); err == nil || !strings.Contains(err.Error(), stateFile) {
		t.Errorf("reading a broken state file: error %v, want one naming the file", err)
	}
}

func TestProbeComponent(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "herald")
	script := `#!/bin/sh
case "$1" in
controller) echo "herald controller: not built yet" >&2; exit 1;;
speaker) printf 'Usage of herald speaker:\n  -kubeconfig string\n    \tkubeconfig\n' >&2; exit 2;;
*) echo "herald: unknown command \"$1\"" >&2; exit 2;;
esac
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, bin, sub string
		built          bool
		missing        string
	}{
		{name: "placeholder", bin: bin, sub: Controller, missing: "`herald controller` is not built yet"},
		{name: "built", bin: bin, sub: Speaker, built: true},
		{name: "no such subcommand", bin: bin, sub: FRRAgent, missing: "has no subcommand frr-agent"},
		{name: "no binary", bin: filepath.Join(dir, "nope"), sub: Speaker, missing: "does not exist (run `make build`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := probeComponent(context.Background(), tt.bin, tt.sub)
			if c.Built != tt.built || !strings.Contains(c.Missing, tt.missing) || (tt.built && c.Missing != "") {
				t.Errorf("probeComponent(%s) = built %v, missing %q; want built %v, missing containing %q", tt.sub, c.Built, c.Missing, tt.built, tt.missing)
			}
			if tt.built && !c.declares("kubeconfig") {
				t.Errorf("built %s does not declare -kubeconfig from its help:\n%s", tt.sub, c.help)
			}
		})
	}
}
