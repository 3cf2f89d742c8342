package member

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/memberlist"
)

func TestValidate(t *testing.T) {
	good := DefaultConfig()
	good.Name = "node-a"
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{name: "default with a name is valid", mod: func(*Config) {}},
		{name: "no name", mod: func(c *Config) { c.Name = "" }, wantErr: "Name is empty"},
		{name: "short key", mod: func(c *Config) { c.Keys = [][]byte{make([]byte, 32), []byte("short")} }, wantErr: "key 1 is 5 bytes"},
		{name: "peer without port", mod: func(c *Config) { c.Peers = []string{"198.51.100.11"} }, wantErr: `peer 0 ("198.51.100.11") is not "host:port"`},
		{name: "timeout longer than interval", mod: func(c *Config) { c.ProbeTimeout = time.Second }, wantErr: "ProbeTimeout 1s must be shorter than ProbeInterval 80ms"},
		{name: "zero gossip interval", mod: func(c *Config) { c.GossipInterval = 0 }, wantErr: "GossipInterval is 0s"},
		{name: "bad bind address", mod: func(c *Config) { c.BindAddr = "eth0" }, wantErr: `BindAddr "eth0" is not an IP address`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// liveLog records the live sets passed to OnChange.
type liveLog struct {
	mu   sync.Mutex
	last []string
	n    int
}

func (l *liveLog) set(live []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last, l.n = live, l.n+1
}

func (l *liveLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 10s waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// start runs a member on 127.0.0.1 with a free port until the test ends.
func start(t *testing.T, name string, key []byte, peers ...string) (*Member, *liveLog) {
	t.Helper()
	return startWith(t, name, key, func(*Config) {}, peers...)
}

// startWith is start with mod applied to the config.
func startWith(t *testing.T, name string, key []byte, mod func(*Config), peers ...string) (*Member, *liveLog) {
	t.Helper()
	c := DefaultConfig()
	c.Name = name
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0
	c.Peers = peers
	c.Keys = [][]byte{key}
	c.Settle = 100 * time.Millisecond
	c.AloneAfter = 300 * time.Millisecond
	l := &liveLog{}
	c.OnChange = l.set
	mod(&c)
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		m.Shutdown()
	})
	m.SetReady(true)
	return m, l
}

func TestMembership(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	a, la := start(t, "node-a", key)
	b, lb := start(t, "node-b", key, a.Addr())
	// node-c without Handoff: only the others' acks hold it back.
	c, lc := startWith(t, "node-c", key, func(c *Config) { c.Handoff = 0 }, a.Addr(), b.Addr())
	all := []string{"node-a", "node-b", "node-c"}
	for _, l := range []*liveLog{la, lb, lc} {
		eventually(t, "every node to see all three live", func() bool { return cmp.Equal(all, l.get()) })
	}

	t.Run("not ready: others stop counting it", func(t *testing.T) {
		c.SetReady(false)
		if got := c.Live(); !cmp.Equal([]string{"node-a", "node-b"}, got) {
			t.Errorf("node-c's own view right after SetReady(false) = %v, want it gone at once", got)
		}
		eventually(t, "node-a to drop node-c", func() bool { return cmp.Equal([]string{"node-a", "node-b"}, la.get()) })
		c.SetReady(true)
		// node-c counts itself only once the others said, in their acks,
		// that they count it: by then they have applied it.
		eventually(t, "node-c to count itself again", func() bool { return slices.Contains(c.Live(), "node-c") })
		if a, b := la.get(), lb.get(); !cmp.Equal(all, a) || !cmp.Equal(all, b) {
			t.Errorf("when node-c counted itself again, node-a had applied %v and node-b %v, want both %v", a, b, all)
		}
	})

	t.Run("wrong key cannot join", func(t *testing.T) {
		start(t, "node-x", bytes.Repeat([]byte{8}, 32), a.Addr())
		time.Sleep(500 * time.Millisecond)
		if got := la.get(); slices.Contains(got, "node-x") {
			t.Errorf("node-a sees %v after a node with another key tried to join, want no node-x", got)
		}
	})

	t.Run("leave: others stop counting it", func(t *testing.T) {
		if err := b.Leave(time.Second); err != nil {
			t.Fatal(err)
		}
		eventually(t, "node-a and node-c to drop node-b", func() bool {
			return cmp.Equal([]string{"node-a", "node-c"}, la.get()) && cmp.Equal([]string{"node-a", "node-c"}, lc.get())
		})
	})

	t.Run("crash: failure detected", func(t *testing.T) {
		if err := c.Shutdown(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "node-a to drop node-c", func() bool { return cmp.Equal([]string{"node-a"}, la.get()) })
	})
}

func TestAloneNodeBecomesReady(t *testing.T) {
	// A peer that does not answer: after AloneAfter the node counts itself.
	m, l := start(t, "node-a", bytes.Repeat([]byte{7}, 16), "127.0.0.1:9")
	eventually(t, "the lone node to count itself", func() bool { return cmp.Equal([]string{"node-a"}, l.get()) })
	if got := m.Live(); !cmp.Equal([]string{"node-a"}, got) {
		t.Errorf("Live() = %v", got)
	}
}

// TestDeadOnHearsay: a node declared dead while this node still hears from
// it (another node's stale view, as after a partition heals) keeps counting;
// one that is silent stops counting after Silence.
func TestDeadOnHearsay(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	a, la := start(t, "node-a", key)
	b, _ := start(t, "node-b", key, a.Addr())
	both := []string{"node-a", "node-b"}
	eventually(t, "node-a to see both live", func() bool { return cmp.Equal(both, la.get()) })

	t.Run("alive node declared dead keeps counting", func(t *testing.T) {
		// node-y runs, but node-a's memberlist does not know it: only
		// node-a's direct pings reach it, as after a dead message
		// (memberlist stops probing a node it holds dead).
		y, _ := start(t, "node-y", key)
		ap := netip.MustParseAddrPort(y.Addr())
		events{a}.NotifyJoin(&memberlist.Node{Name: "node-y", Addr: ap.Addr().AsSlice(), Port: ap.Port(), Meta: []byte{metaReady}})
		events{a}.NotifyLeave(&memberlist.Node{Name: "node-y"})
		want := []string{"node-a", "node-b", "node-y"}
		for deadline := time.Now().Add(4 * a.cfg.Silence); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if got := a.Live(); !cmp.Equal(want, got) {
				t.Fatalf("node-a's Live() = %v while node-y answers pings, want %v", got, want)
			}
		}
		if err := y.Shutdown(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "node-a to drop node-y once silent", func() bool { return cmp.Equal(both, a.Live()) })
	})

	t.Run("silent node declared dead stops counting after Silence", func(t *testing.T) {
		// node-z at a port nobody answers on.
		events{a}.NotifyJoin(&memberlist.Node{Name: "node-z", Addr: net.ParseIP("127.0.0.1"), Port: 9, Meta: []byte{metaReady}})
		events{a}.NotifyLeave(&memberlist.Node{Name: "node-z"})
		if got := a.Live(); !slices.Contains(got, "node-z") {
			t.Errorf("node-a's Live() = %v right after node-z, heard from just now, was declared dead; want it counted until silent for %v", got, a.cfg.Silence)
		}
		eventually(t, "node-a to drop node-z", func() bool { return !slices.Contains(a.Live(), "node-z") })
	})

	t.Run("crash: dropped once silent", func(t *testing.T) {
		if err := b.Shutdown(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "node-a to drop node-b", func() bool { return cmp.Equal([]string{"node-a"}, la.get()) })
	})
}

func TestAckPayload(t *testing.T) {
	p := ackPayload([]string{"node-a", "node-c"})
	for node, want := range map[string]bool{"node-a": true, "node-b": false, "node-c": true} {
		if got := payloadCounts(p, node); got != want {
			t.Errorf("payloadCounts(ackPayload([node-a node-c]), %s) = %v, want %v", node, got, want)
		}
	}
	if payloadCounts(nil, "node-a") {
		t.Error("an empty payload (a node of an older version) counts node-a")
	}
}

// TestSetKeys changes the key of a running cluster, one member after the
// other: they keep seeing each other throughout, a member with only the new
// key joins afterwards, one with only the old key cannot.
func TestSetKeys(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 32)
	grace := func(c *Config) { c.KeyGrace = time.Second }
	a, la := startWith(t, "node-a", oldKey, grace)
	b, lb := startWith(t, "node-b", oldKey, grace, a.Addr())
	both := []string{"node-a", "node-b"}
	eventually(t, "both to see each other", func() bool { return cmp.Equal(both, la.get()) && cmp.Equal(both, lb.get()) })

	if err := a.SetKeys([][]byte{newKey}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // node-b reads the Secret a little later
	if err := b.SetKeys([][]byte{newKey}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(4 * a.cfg.KeyGrace); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !cmp.Equal(both, la.get()) || !cmp.Equal(both, lb.get()) {
			t.Fatalf("during the key change node-a sees %v, node-b %v; want both %v throughout", la.get(), lb.get(), both)
		}
	}
	for _, m := range []*Member{a, b} {
		if got := m.keyring.GetKeys(); len(got) != 1 || !bytes.Equal(got[0], newKey) {
			t.Errorf("%s keeps %d keys after the change, want the new one alone", m.cfg.Name, len(got))
		}
	}

	_, lc := start(t, "node-c", newKey, a.Addr())
	eventually(t, "node-c, with the new key, to join", func() bool { return slices.Contains(la.get(), "node-c") && slices.Contains(lc.get(), "node-a") })
	start(t, "node-x", oldKey, a.Addr())
	time.Sleep(500 * time.Millisecond)
	if got := la.get(); slices.Contains(got, "node-x") {
		t.Errorf("node-a sees %v after a node with the old key tried to join, want no node-x", got)
	}
}

func TestSetKeysPlainText(t *testing.T) {
	c := DefaultConfig()
	c.Name, c.BindAddr, c.BindPort = "node-a", "127.0.0.1", 0
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown()
	if err := m.SetKeys([][]byte{bytes.Repeat([]byte{7}, 32)}); !errors.Is(err, ErrPlainText) {
		t.Errorf("SetKeys on a plain-text member = %v, want ErrPlainText", err)
	}
}
