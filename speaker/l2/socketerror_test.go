package l2

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/go-logr/logr"

	"github.com/heraldlb/herald/internal/testenv"
)

// TestAnnouncerSocketError: an interface whose ARP socket cannot be opened
// is reported by SocketError (the speaker's readiness and NodeState), and
// cleared once it opens; a failed raw-socket check at start is reported
// before any IP is announced.
func TestAnnouncerSocketError(t *testing.T) {
	up := net.FlagUp | net.FlagRunning | net.FlagBroadcast | net.FlagMulticast
	h := &fakeHost{
		links: []Link{
			{Name: "lo", Index: 1, Flags: net.FlagUp | net.FlagRunning | net.FlagLoopback},
			{Name: "lan0", Index: 2, Flags: up, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 0x11}, MTU: 1500},
		},
		arps: map[string]*memConn{},
		ndps: map[string]*fakeNDP{},
	}
	cfg := h.config()
	open := cfg.ListenARP
	var denied = true
	cfg.ListenARP = func(ifi *net.Interface, m *Metrics, log logr.Logger) (*ARPResponder, error) {
		h.mu.Lock()
		d := denied
		h.mu.Unlock()
		if d {
			return nil, errors.New("opening ARP socket on " + ifi.Name + ": operation not permitted")
		}
		return open(ifi, m, log)
	}
	cfg.CheckRaw = func() error { return nil }
	a, err := NewAnnouncer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	if err := a.SocketError(); err != nil {
		t.Fatalf("SocketError = %v with nothing to answer for", err)
	}
	a.Announce([]Announcement{{IP: netip.MustParseAddr("192.0.2.10")}})
	eventually(t, "the failed ARP socket reported", func() bool {
		err := a.SocketError()
		return err != nil && strings.Contains(err.Error(), "lan0")
	})
	if got := a.Status(); len(got) != 0 {
		t.Errorf("Status = %v, want nothing answered while the socket is refused", got)
	}
	h.mu.Lock()
	denied = false
	h.mu.Unlock()
	eventually(t, "the socket opened on the next rescan", func() bool { return a.SocketError() == nil && len(a.Status()) == 1 })

	b, err := NewAnnouncer(AnnouncerConfig{ListLinks: h.list, Log: logr.Discard(),
		CheckRaw: func() error { return errors.New("no CAP_NET_RAW") }})
	if err != nil {
		t.Fatal(err)
	}
	bctx, bcancel := context.WithCancel(context.Background())
	bdone := make(chan error, 1)
	go func() { bdone <- b.Run(bctx) }()
	defer func() { bcancel(); <-bdone }()
	eventually(t, "the failed raw-socket check reported", func() bool {
		err := b.SocketError()
		return err != nil && strings.Contains(err.Error(), "CAP_NET_RAW")
	})
}

// TestCheckRawSocket opens a raw socket as root, and fails to as the
// speaker's non-root user (65532) with no capability: issue 13's L2 bug, a
// non-root container whose capabilities.add: [NET_RAW] never reaches its
// effective set.
func TestCheckRawSocket(t *testing.T) {
	if os.Getenv("HERALD_CHECK_RAW_CHILD") == "1" {
		if err := CheckRawSocket(); err != nil {
			os.Stdout.WriteString("refused: " + err.Error())
			os.Exit(3)
		}
		os.Exit(0)
	}
	testenv.RequireRoot(t)
	if err := CheckRawSocket(); err != nil {
		t.Fatalf("CheckRawSocket as root: %v", err)
	}
	// The test binary's folder is root's alone: run a copy the user can read.
	dir, err := os.MkdirTemp("", "herald-rawcheck-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "l2.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestCheckRawSocket$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HERALD_CHECK_RAW_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 || !strings.Contains(string(out), "CAP_NET_RAW") {
		t.Errorf("CheckRawSocket as uid 65532 = %v, %q; want refused, naming CAP_NET_RAW", err, out)
	}
}
