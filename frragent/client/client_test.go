package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frragent/client"
)

// A fake FRR behind the agent's seams: reloads set the running config, the
// show commands answer canned JSON.
type fake struct {
	mu      sync.Mutex
	running string
}

func (f *fake) vtysh(_ context.Context, args ...string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cmd := strings.Join(args, " ")
	switch {
	case args[0] == "-C":
		return "", nil
	case strings.HasSuffix(cmd, "show running-config"):
		return f.running, nil
	case strings.HasSuffix(cmd, "show bgp vrf all summary json"):
		return `{"default":{"ipv4Unicast":{"peers":{"198.51.100.1":{"remoteAs":64500,"localAs":64512,"state":"Established","peerUptimeMsec":5000,"pfxSnt":1}}}}}`, nil
	case strings.HasSuffix(cmd, "show bfd peers json"):
		return `[{"peer":"198.51.100.1","status":"up","receive-interval":300,"transmit-interval":300,"detect-multiplier":3}]`, nil
	case strings.Contains(cmd, "advertised-routes json"):
		return `{"advertisedRoutes":{"192.0.2.10/32":{"nextHop":"0.0.0.0"}}}`, nil
	}
	return "", errors.New("unexpected vtysh " + cmd)
}

func (f *fake) reload(_ context.Context, file string) (string, error) {
	b, err := os.ReadFile(file)
	f.mu.Lock()
	f.running = string(b)
	f.mu.Unlock()
	return "", err
}

func TestClientOverSocket(t *testing.T) {
	f := &fake{}
	dir := t.TempDir()
	a, err := frragent.New(frragent.Options{Vtysh: f.vtysh, Reload: f.reload, ConfigPath: filepath.Join(dir, "frr.conf")})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "a.sock")
	l, err := frragent.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, l) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	c := client.New(sock)
	conf := "frr defaults traditional\n!\nrouter bgp 64512\nexit\n!\n"
	res, err := c.ApplyRendered(ctx, 3, conf)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Success || res.Method != frragent.MethodReload || res.Generation != 3 {
		t.Errorf("ApplyRendered = %+v, want generation 3 applied by reload", res)
	}
	st, err := c.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Generation != 3 || len(st.Sessions) != 1 || !st.Sessions[0].Established || len(st.BFDPeers) != 1 ||
		len(st.Advertised) != 1 || st.Advertised[0].Routes[0].Prefix.String() != "192.0.2.10/32" || st.LastApply == nil {
		t.Errorf("State = %+v, want generation 3, one session, one BFD peer, 192.0.2.10/32 advertised", st)
	}
	if _, err := client.New(filepath.Join(dir, "nobody.sock")).State(ctx); err == nil {
		t.Error("State on a socket nobody listens on succeeded")
	}
}
