package speaker

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/internal/frrproc"
	"github.com/heraldlb/herald/internal/testenv"
)

// The router of TestSpeakerOnFRR: iBGP (AS 64512) with the node, so that
// local-pref arrives.
const speakerRouterConf = `frr defaults traditional
hostname router
!
router bgp 64512
 bgp router-id 198.51.100.1
 neighbor 198.51.100.11 remote-as 64512
exit
!
`

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v: %s", args, err, out)
	}
}

// frrPair starts a node FRR driven by an in-process frr-agent and a router
// FRR, in two namespaces joined by a veth pair, and returns the router and
// the agent's socket.
func frrPair(t *testing.T) (*frrproc.Instance, string) {
	t.Helper()
	testenv.RequireFRR(t)
	id := rand.N(1_000_000)
	nodeNS, routerNS := fmt.Sprintf("hxsn%d", id), fmt.Sprintf("hxsr%d", id)
	for _, ns := range []string{nodeNS, routerNS} {
		sh(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	a, b := fmt.Sprintf("hxsa%d", id), fmt.Sprintf("hxsb%d", id)
	sh(t, "ip", "link", "add", a, "netns", nodeNS, "type", "veth", "peer", "name", b, "netns", routerNS)
	sh(t, "ip", "-n", nodeNS, "addr", "add", "198.51.100.11/24", "dev", a)
	sh(t, "ip", "-n", routerNS, "addr", "add", "198.51.100.1/24", "dev", b)
	sh(t, "ip", "-n", nodeNS, "link", "set", a, "up")
	sh(t, "ip", "-n", routerNS, "link", "set", b, "up")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := func(name, conf string) *frrproc.Instance {
		inst, err := frrproc.Start(ctx, frrproc.Options{Name: name, Netns: name, Config: conf})
		if err != nil {
			t.Fatalf("starting FRR %s: %v", name, err)
		}
		t.Cleanup(func() {
			if err := inst.Stop(context.Background()); err != nil {
				t.Errorf("stopping FRR %s: %v", name, err)
			}
		})
		return inst
	}
	router, node := start(routerNS, speakerRouterConf), start(nodeNS, "")
	dir := t.TempDir()
	dryRun := vtysh.NewDryRun("vtysh", node.Name())
	t.Cleanup(func() { dryRun.Close() })
	agent, err := frragent.New(frragent.Options{
		Vtysh:      vtysh.Exec("vtysh", node.Name()),
		Reload:     frragent.FRRReload(filepath.Join(testenv.FRRDir, "frr-reload.py"), "vtysh", node.Name(), dir),
		ConfigPath: filepath.Join(dir, "frr.conf"),
		VtyDir:     frrproc.RunDir(node.Name()),
		DryRun:     dryRun.Check,
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	ln, err := frragent.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Serve(srvCtx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	return router, sock
}

// ribRoute is the best path of one prefix at the router.
type ribRoute struct {
	Communities, Large []string
	LocalPref          uint32
}

func routerRIB(ctx context.Context, router *frrproc.Instance) (map[string]ribRoute, error) {
	out, err := router.Vtysh(ctx, "-c", "show bgp ipv4 unicast json")
	if err != nil {
		return nil, err
	}
	var table struct {
		Routes map[string][]struct {
			Valid bool `json:"valid"`
		} `json:"routes"`
	}
	if err := json.Unmarshal([]byte(out), &table); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", out, err)
	}
	got := map[string]ribRoute{}
	for prefix := range table.Routes {
		out, err := router.Vtysh(ctx, "-c", "show bgp ipv4 unicast "+prefix+" json")
		if err != nil {
			return nil, err
		}
		var d struct {
			Paths []struct {
				Community *struct {
					List []string `json:"list"`
				} `json:"community"`
				LargeCommunity *struct {
					List []string `json:"list"`
				} `json:"largeCommunity"`
				LocPrf uint32 `json:"locPrf"`
			} `json:"paths"`
		}
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			return nil, err
		}
		for _, p := range d.Paths {
			r := ribRoute{LocalPref: p.LocPrf}
			if p.Community != nil {
				r.Communities = p.Community.List
			}
			if p.LargeCommunity != nil {
				r.Large = p.LargeCommunity.List
			}
			got[prefix] = r
		}
	}
	return got, nil
}

func waitRIB(t *testing.T, router *frrproc.Instance, want map[string]ribRoute) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := routerRIB(context.Background(), router)
		if err == nil && cmp.Equal(want, got) {
			return
		}
		if time.Now().After(deadline) {
			out, _ := router.Vtysh(context.Background(), "-c", "show bgp summary")
			t.Fatalf("router RIB after 60s (err %v) (-want +got):\n%s\n%s", err, cmp.Diff(want, got), out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSpeakerOnFRR runs the speaker against a real frr-agent and FRR: a
// Service's IP reaches the router with the advertisement's communities and
// local-pref, a deleted Service is withdrawn, and on shutdown the speaker
// withdraws everything while the session stays up.
func TestSpeakerOnFRR(t *testing.T) {
	router, sock := frrPair(t)
	cfg, c := apitest.Start(t)
	cluster(t, c)
	var p v1beta1.BGPPeer
	if err := c.Get(context.Background(), clientKey(testNS, "router"), &p); err != nil {
		t.Fatal(err)
	}
	p.Spec.PeerASN = 64512 // iBGP
	p.Spec.BFDProfile = ""
	p.Spec.HoldTime = &metav1.Duration{Duration: 9 * time.Second}
	p.Spec.KeepaliveTime = &metav1.Duration{Duration: 3 * time.Second}
	if err := c.Update(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, c,
		&v1beta1.Community{ObjectMeta: metav1.ObjectMeta{Name: "aliases", Namespace: testNS}, Spec: v1beta1.CommunitySpec{
			Communities: []v1beta1.CommunityAlias{{Name: "tag", Value: "large:64512:1:2"}}}},
		&v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "attrs", Namespace: testNS}, Spec: v1beta1.BGPAdvertisementSpec{
			LocalPref: 150, Communities: []v1beta1.CommunityOrAlias{"64512:7", "tag"}}},
	)
	web := lbService(t, c, "web", "192.0.2.10")

	agent := NewAgentClient(sock)
	r := startSpeaker(t, cfg, nil, func(sc *Config) { sc.Agent = agent })

	want := ribRoute{Communities: []string{"64512:7"}, Large: []string{"64512:1:2"}, LocalPref: 150}
	waitRIB(t, router, map[string]ribRoute{"192.0.2.10/32": want})

	lbService(t, c, "db", "192.0.2.11")
	waitRIB(t, router, map[string]ribRoute{"192.0.2.10/32": want, "192.0.2.11/32": want})
	if err := c.Delete(context.Background(), web); err != nil {
		t.Fatal(err)
	}
	waitRIB(t, router, map[string]ribRoute{"192.0.2.11/32": want})

	eventually(t, "NodeState reports the session and the prefix", func() bool {
		st := nodeState(t, c).Status
		return st.SessionsUp == 1 && len(st.BGPAnnouncements) == 1 && slices.Equal(st.BGPAnnouncements[0].Prefixes, []string{"192.0.2.11/32"})
	})
	if st := nodeState(t, c).Status.FRR; st.Result != v1beta1.FRRApplied {
		t.Errorf("frr status %+v, want Applied", st)
	}

	r.stop()
	waitRIB(t, router, map[string]ribRoute{})
	out, err := router.Vtysh(context.Background(), "-c", "show bgp vrf all summary json")
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := vtysh.ParseBGPSummary([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 1 || !sessions[0].Established {
		t.Errorf("after the withdrawal the session is %+v, want it still Established", sessions)
	}
}
