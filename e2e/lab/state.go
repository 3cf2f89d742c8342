package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/go-logr/logr"
)

// LockPath is the machine-wide lock file: one lab per machine.
const LockPath = "/run/herald-lab.lock"

// DefaultDir is where the lab keeps its state, certificates, kubeconfig,
// etcd data and logs.
const DefaultDir = "/run/herald-lab"

// stateFile is the lab folder's record of what it made.
const stateFile = "state.json"

// Proc is a process the lab started and tracks.
type Proc struct {
	// Name identifies the component: "etcd", "kube-apiserver",
	// "controller", "speaker/node1", "frr-agent/node1".
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// Netns is the network namespace it runs in; empty for the root one.
	Netns string `json:"netns,omitempty"`
	// Args is its command line.
	Args []string `json:"args"`
	// Log is the file receiving its output.
	Log string `json:"log"`
}

// State is what a lab records in its folder, so that Down and a later Up
// find what an earlier process made.
type State struct {
	// Nodes is the number of nodes.
	Nodes int `json:"nodes"`
	// HeraldBin is the herald binary whose components the lab runs.
	HeraldBin string `json:"heraldBin,omitempty"`
	// Owner says who made the lab (Options.Owner): CLIOwner for `herald
	// lab up`, empty for the Go API.
	Owner string `json:"owner,omitempty"`
	// Namespaces, Links and FRR are the network namespaces, root links and
	// FRR pathspaces made so far.
	Namespaces []string `json:"namespaces"`
	Links      []string `json:"links"`
	FRR        []string `json:"frr"`
	// Procs are the processes started, by component name.
	Procs map[string]Proc `json:"procs"`
}

func readState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, stateFile), err)
	}
	if s.Procs == nil {
		s.Procs = map[string]Proc{}
	}
	return &s, nil
}

func writeState(dir string, s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding lab state: %w", err)
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("writing lab state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("writing lab state: %w", err)
	}
	return nil
}

// lock is the held machine-wide lab lock.
type lock struct {
	f    *os.File
	path string
}

// acquireLock takes the flock on path (LockPath), waiting while another process
// holds it, until ctx ends. A lock file removed by its previous holder is
// detected (the inode changed) and the lock taken again on the new file.
func acquireLock(ctx context.Context, path string, log logr.Logger) (*lock, error) {
	waiting := false
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, fmt.Errorf("opening lab lock %s: %w", path, err)
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			if sameFile(f, path) {
				_ = f.Truncate(0)
				_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
				return &lock{f: f, path: path}, nil
			}
			f.Close() // its holder removed it; lock the new one
			continue
		}
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !waiting {
			waiting = true
			holder, _ := os.ReadFile(path)
			log.Info("waiting for the lab lock: another process has the lab", "lock", path, "holder", trimNL(string(holder)))
		}
		select {
		case <-ctx.Done():
			holder, _ := os.ReadFile(path)
			return nil, fmt.Errorf("waiting for the lab lock %s (held by pid %s; one lab runs per machine): %w",
				path, trimNL(string(holder)), ctx.Err())
		case <-tick.C:
		}
	}
}

func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	if err != nil {
		return false
	}
	return os.SameFile(a, b)
}

// release drops the lock; remove also deletes the lock file (on Down).
func (l *lock) release(remove bool) {
	if l == nil || l.f == nil {
		return
	}
	if remove {
		_ = os.Remove(l.path)
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

func trimNL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
