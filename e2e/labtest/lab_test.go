package labtest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/internal/frrproc"
	"github.com/heraldlb/herald/internal/testenv"
)

// options are the lab options of these tests: the lab alone (herald's
// components are tested by the e2e tests that need them), with a CRD of
// this package's testdata.
func options(t *testing.T) lab.Options {
	t.Helper()
	testenv.RequireFRR(t)
	RequireOwnLab(t)
	crds, err := filepath.Abs("testdata/crd")
	if err != nil {
		t.Fatal(err)
	}
	return lab.Options{ControlPlaneDir: testenv.ControlPlane(t), CRDDir: crds, NoHerald: true,
		Log: funcr.New(func(_, args string) { t.Log(args) }, funcr.Options{})}
}

func up(t *testing.T, ctx context.Context, opts lab.Options) *lab.Lab {
	t.Helper()
	start := time.Now()
	l, err := lab.Up(ctx, opts)
	if err != nil {
		t.Fatalf("lab.Up: %v", err)
	}
	t.Logf("lab up in %s", time.Since(start).Round(time.Millisecond))
	return l
}

// downOnCleanup takes the lab *l down at the end of the test if the test
// did not (Down is a no-op after a successful Down, and refuses a closed
// Lab, whose lab may be another test process's by now).
func downOnCleanup(t *testing.T, l **lab.Lab) {
	t.Cleanup(func() {
		if *l == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := (*l).Down(ctx); err != nil {
			t.Logf("lab down at cleanup: %v", err)
		}
	})
}

func TestLab(t *testing.T) {
	opts := options(t)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	var l *lab.Lab
	downOnCleanup(t, &l)
	l = up(t, ctx, opts)
	plan := l.Plan()

	t.Run("api server answers and the CRDs are established", func(t *testing.T) {
		v, err := l.Client().Discovery().ServerVersion()
		if err != nil {
			t.Fatalf("asking the API server its version: %v", err)
		}
		t.Logf("API server %s at %s", v.GitVersion, lab.APIServerURL())
		cs, err := apiextclient.NewForConfig(l.RESTConfig())
		if err != nil {
			t.Fatal(err)
		}
		crd, err := cs.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "widgets.labtest.heraldlb.io", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the testdata CRD: %v", err)
		}
		if !established(crd.Status.Conditions) {
			t.Errorf("CRD %s is not established: %+v", crd.Name, crd.Status.Conditions)
		}
		if _, err := l.Client().CoreV1().Namespaces().Get(ctx, lab.HeraldNamespace, metav1.GetOptions{}); err != nil {
			t.Errorf("namespace %s: %v", lab.HeraldNamespace, err)
		}
	})

	t.Run("nodes exist, ready, with their LAN addresses", func(t *testing.T) {
		nodes, err := l.Client().CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range nodes.Items {
			var addrs []string
			for _, a := range n.Status.Addresses {
				if a.Type == corev1.NodeInternalIP {
					addrs = append(addrs, a.Address)
				}
			}
			readyStatus := "NotReady"
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					readyStatus = "Ready"
				}
			}
			got = append(got, fmt.Sprintf("%s %s %s", n.Name, readyStatus, strings.Join(addrs, ",")))
		}
		want := []string{
			"node1 Ready 198.51.100.11,2001:db8:100::11",
			"node2 Ready 198.51.100.12,2001:db8:100::12",
			"node3 Ready 198.51.100.13,2001:db8:100::13",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Nodes (-want +got):\n%s", diff)
		}
	})

	t.Run("client reaches the router over IPv4 and IPv6", func(t *testing.T) {
		for _, dst := range []string{lab.RouterAddr4.String(), lab.RouterAddr6.String()} {
			if out, err := l.Exec(ctx, lab.ClientName, "ping", "-c", "1", "-W", "2", dst); err != nil {
				t.Errorf("ping %s from the client: %v\n%s", dst, err, out)
			}
		}
	})

	t.Run("nodes reach the API server over the management network", func(t *testing.T) {
		for _, n := range plan.Nodes {
			out, err := l.Exec(ctx, n.Name, "curl", "-sS", "--max-time", "5", "--cacert", filepath.Join(l.Dir(), "pki", "ca.crt"),
				lab.APIServerURL()+"/readyz")
			if err != nil || out != "ok" {
				t.Errorf("%s: curl %s/readyz = %q, %v; want ok", n.Name, lab.APIServerURL(), out, err)
			}
			if out, err := l.Exec(ctx, n.Name, "ping", "-c", "1", "-W", "2", lab.RouterAddr4.String()); err != nil {
				t.Errorf("%s: ping router: %v\n%s", n.Name, err, out)
			}
		}
	})

	t.Run("the router's FRR answers vtysh with its BGP config", func(t *testing.T) {
		out, err := l.Vtysh(ctx, lab.RouterName, "show running-config")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"router bgp 64500", "bgp listen range 198.51.100.0/24 peer-group nodes", "maximum-paths 8", "neighbor nodes bfd"} {
			if !strings.Contains(out, want) {
				t.Errorf("router running config lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("each node's FRR runs zebra, bgpd, bfdd and staticd", func(t *testing.T) {
		for _, n := range plan.Nodes {
			out, err := l.Vtysh(ctx, n.Name, "show daemons")
			if err != nil {
				t.Errorf("%s: %v", n.Name, err)
				continue
			}
			for _, d := range frrproc.DefaultDaemons() {
				if !strings.Contains(out, d) {
					t.Errorf("%s runs %q, lacking %s", n.Name, strings.TrimSpace(out), d)
				}
			}
		}
	})

	// Each node's FRR peers with the router and announces 192.0.2.10/32
	// (from all) and 192.0.2.77/32 with 2001:db8:200::77/128 (from node2).
	t.Run("the router holds a route through all three nodes (ECMP)", func(t *testing.T) {
		for i, n := range plan.Nodes {
			cmds := []string{
				"configure terminal",
				// Intervals slow enough not to flap on a loaded CI machine.
				"bfd", "profile lab", "receive-interval 200", "transmit-interval 200", "exit", "exit",
				fmt.Sprintf("router bgp %d", 64511+i),
				"no bgp ebgp-requires-policy", "no bgp network import-check",
				"neighbor 198.51.100.1 remote-as 64500", "neighbor 198.51.100.1 timers connect 1",
				"neighbor 198.51.100.1 timers 3 9",
				"neighbor 198.51.100.1 bfd", "neighbor 198.51.100.1 bfd profile lab",
				"address-family ipv4 unicast", "network 192.0.2.10/32",
			}
			if n.Name == "node2" {
				cmds = append(cmds, "network 192.0.2.77/32", "exit-address-family",
					"address-family ipv6 unicast", "neighbor 198.51.100.1 activate", "network 2001:db8:200::77/128")
			}
			if _, err := l.Vtysh(ctx, n.Name, cmds...); err != nil {
				t.Fatalf("configuring %s's FRR: %v", n.Name, err)
			}
		}
		want := []string{"198.51.100.11", "198.51.100.12", "198.51.100.13"}
		waitNextHops(t, ctx, l, "192.0.2.10/32", want)
		waitNextHops(t, ctx, l, "192.0.2.77/32", []string{"198.51.100.12"})
	})

	t.Run("a pod on node2 is a ready endpoint and answers through the router", func(t *testing.T) {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
			Spec: corev1.ServiceSpec{
				Ports:          []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
				IPFamilyPolicy: ptr(corev1.IPFamilyPolicyPreferDualStack),
			},
		}
		if _, err := l.Client().CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating Service default/web: %v", err)
		}
		pod, err := l.StartPod(ctx, lab.PodSpec{Name: "web-1", Node: "node2", Service: "default/web"})
		if err != nil {
			t.Fatalf("StartPod: %v", err)
		}
		if pod.Port != 8080 {
			t.Errorf("pod serves port %d, want the Service's targetPort 8080", pod.Port)
		}
		got := sliceSummary(t, ctx, l)
		want := []string{"IPv4 198.51.100.12 node2 ready http:8080", "IPv6 2001:db8:100::12 node2 ready http:8080"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("EndpointSlices of default/web (-want +got):\n%s", diff)
		}
		for _, url := range []string{"http://198.51.100.12:8080/", "http://192.0.2.77:8080/", "http://[2001:db8:200::77]:8080/"} {
			// A few tries: on a loaded machine a BGP session may be re-forming.
			var out string
			var err error
			for try := 0; try < 20; try++ {
				out, err = l.Exec(ctx, lab.ClientName, "curl", "-sS", "--max-time", "3", url)
				if err == nil {
					break
				}
				time.Sleep(500 * time.Millisecond)
			}
			if err != nil || out != "pod web-1 on node2\n" {
				t.Errorf("client: curl %s = %q, %v; want the pod's answer", url, out, err)
			}
		}
		if _, err := l.StartPod(ctx, lab.PodSpec{Name: "web-1", Node: "node1", Service: "default/web"}); err == nil {
			t.Errorf("StartPod accepted a second pod named web-1")
		}
		if _, err := l.StartPod(ctx, lab.PodSpec{Name: "web-2", Node: "node9", Service: "default/web"}); err == nil || !strings.Contains(err.Error(), "PodSpec.Node") {
			t.Errorf("StartPod on node9: error %v, want one naming PodSpec.Node", err)
		}
		if err := l.StopPod(ctx, "web-1"); err != nil {
			t.Fatalf("StopPod: %v", err)
		}
		if got := sliceSummary(t, ctx, l); len(got) != 0 {
			t.Errorf("EndpointSlices left after StopPod: %v", got)
		}
		if out, err := l.Exec(ctx, lab.ClientName, "curl", "-sS", "--max-time", "2", "http://198.51.100.12:8080/"); err == nil {
			t.Errorf("the stopped pod still answers: %q", out)
		}
	})

	t.Run("a cut LAN link takes the node out of the router's next hops", func(t *testing.T) {
		waitBFDUp(t, ctx, l, 3)
		start := time.Now()
		if err := l.CutLink(ctx, "node3"); err != nil {
			t.Fatal(err)
		}
		waitNextHops(t, ctx, l, "192.0.2.10/32", []string{"198.51.100.11", "198.51.100.12"})
		t.Logf("router dropped node3 %s after the cut (BFD 200ms x 3)", time.Since(start).Round(time.Millisecond))
		if err := l.RestoreLink(ctx, "node3"); err != nil {
			t.Fatal(err)
		}
		waitNextHops(t, ctx, l, "192.0.2.10/32", []string{"198.51.100.11", "198.51.100.12", "198.51.100.13"})
		if err := l.CutLink(ctx, "node7"); err == nil {
			t.Errorf("CutLink accepted node7")
		}
	})

	t.Run("up again keeps every process", func(t *testing.T) {
		before := pids(t, l)
		l.Close()
		l = up(t, ctx, opts)
		if diff := cmp.Diff(before, pids(t, l)); diff != "" {
			t.Errorf("processes changed over a second Up (-before +after):\n%s", diff)
		}
		if ok, bad := l.Status(ctx).Healthy(); !ok {
			t.Errorf("lab not healthy after a second Up: %v", bad)
		}
	})

	t.Run("down leaves nothing behind", func(t *testing.T) {
		start := time.Now()
		// Teardown keeps the lab lock, so no other lab starts before the check.
		if err := l.Teardown(ctx); err != nil {
			t.Fatalf("Teardown: %v", err)
		}
		t.Logf("lab down in %s", time.Since(start).Round(time.Millisecond))
		requireNothingLeft(t)
		l.Close()
	})
}

// TestCrash kills every process of the lab as a crash would: Up repairs the
// lab, and Destroy, with the state file gone, still removes everything.
func TestCrash(t *testing.T) {
	opts := options(t)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	var l *lab.Lab
	downOnCleanup(t, &l)
	l = up(t, ctx, opts)
	plan := l.Plan()
	before := pids(t, l)
	crash(t, l)
	l.Close()

	l = up(t, ctx, opts)
	after := pids(t, l)
	for name, pid := range after {
		if before[name] == pid {
			t.Errorf("%s has its pre-crash pid %d after Up", name, pid)
		}
	}
	if ok, bad := l.Status(ctx).Healthy(); !ok {
		t.Errorf("lab not repaired by Up after a crash: %v", bad)
	}
	if _, err := l.Exec(ctx, lab.ClientName, "ping", "-c", "1", "-W", "2", plan.Nodes[0].LAN4.String()); err != nil {
		t.Errorf("client cannot ping node1 after the repair: %v", err)
	}

	crash(t, l)
	if err := os.Remove(filepath.Join(l.Dir(), "state.json")); err != nil {
		t.Fatal(err)
	}
	// Teardown reads the (missing) state file as Destroy does, and keeps
	// the lock while the machine is checked.
	if err := l.Teardown(ctx); err != nil {
		t.Fatalf("Teardown after a crash without state: %v", err)
	}
	requireNothingLeft(t)
	l.Close()
}

// crash SIGKILLs etcd, the API server and every process in the lab's
// namespaces (FRR and its watchfrr), leaving namespaces and files.
func crash(t *testing.T, l *lab.Lab) {
	t.Helper()
	var victims []int
	for _, p := range l.Procs() {
		victims = append(victims, p.PID)
	}
	for _, ns := range l.Plan().Namespaces() {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				victims = append(victims, pid)
			}
		}
	}
	for _, pid := range victims {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	// watchfrr runs in a namespace and dies too: nothing restarts the
	// daemons. Wait until every victim is gone (or a zombie).
	deadline := time.Now().Add(30 * time.Second)
	for _, pid := range victims {
		for {
			stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil || strings.Contains(string(stat), ") Z ") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pid %d survives SIGKILL: %s", pid, stat)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("killed %d processes", len(victims))
}

// pids returns the lab's processes: those it tracks and each FRR daemon.
func pids(t *testing.T, l *lab.Lab) map[string]int {
	t.Helper()
	out := map[string]int{}
	for name, p := range l.Procs() {
		out[name] = p.PID
	}
	for _, ps := range l.Plan().FRRNames() {
		for _, d := range frrproc.DefaultDaemons() {
			b, err := os.ReadFile(filepath.Join(frrproc.RunDir(ps), d+".pid"))
			if err != nil {
				t.Fatalf("%s %s: %v", ps, d, err)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			out[ps+"/"+d] = pid
		}
	}
	return out
}

// requireNothingLeft checks, with the system's tools, that no namespace,
// link, process or file of the lab remains.
func requireNothingLeft(t *testing.T) {
	t.Helper()
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), lab.Prefix) {
		t.Errorf("namespaces left:\n%s", out)
	}
	if out, _ := exec.Command("ip", "-o", "link", "show").Output(); strings.Contains(string(out), lab.Prefix) {
		t.Errorf("links left:\n%s", out)
	}
	for _, pattern := range []string{"-N " + lab.Prefix, lab.MgmtAddr.String(), lab.DefaultDir + "/"} {
		if out, err := exec.Command("pgrep", "-af", "--", pattern).Output(); err == nil {
			t.Errorf("processes matching %q left:\n%s", pattern, out)
		}
	}
	if pids := labEnvPIDs(); len(pids) > 0 {
		t.Errorf("processes started by the lab left: %v", pids)
	}
	for _, glob := range []string{lab.DefaultDir, frrproc.RunDir(lab.Prefix + "*"), frrproc.ConfDir(lab.Prefix + "*")} {
		if m, _ := filepath.Glob(glob); len(m) > 0 {
			t.Errorf("files left: %v", m)
		}
	}
}

// labEnvPIDs returns the processes whose environment marks them as started
// by a lab (HERALD_LAB_DIR).
func labEnvPIDs() []string {
	envs, _ := filepath.Glob("/proc/[0-9]*/environ")
	var pids []string
	for _, e := range envs {
		b, err := os.ReadFile(e)
		if err == nil && strings.Contains(string(b), "\x00HERALD_LAB_DIR=") || strings.HasPrefix(string(b), "HERALD_LAB_DIR=") {
			pids = append(pids, strings.Split(e, "/")[2])
		}
	}
	return pids
}

type nextHop struct {
	IP     string `json:"ip"`
	Active bool   `json:"active"`
}

// waitNextHops waits until the router's kernel-installed route to prefix
// goes through exactly the active next hops want.
func waitNextHops(t *testing.T, ctx context.Context, l *lab.Lab, prefix string, want []string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var got []string
	for {
		got = nil
		out, err := l.Vtysh(ctx, lab.RouterName, "show ip route "+prefix+" json")
		if err == nil {
			var routes map[string][]struct {
				Installed bool      `json:"installed"`
				Nexthops  []nextHop `json:"nexthops"`
			}
			if json.Unmarshal([]byte(out), &routes) == nil {
				for _, r := range routes[prefix] {
					if !r.Installed {
						continue
					}
					for _, nh := range r.Nexthops {
						if nh.Active {
							got = append(got, nh.IP)
						}
					}
				}
			}
		}
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			summary, _ := l.Vtysh(ctx, lab.RouterName, "show bgp summary")
			t.Fatalf("router route to %s goes via %v, want %v\n%s", prefix, got, want, summary)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitBFDUp waits until the router has n BFD sessions up.
func waitBFDUp(t *testing.T, ctx context.Context, l *lab.Lab, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := l.Vtysh(ctx, lab.RouterName, "show bfd peers json")
		var peers []struct {
			Peer   string `json:"peer"`
			Status string `json:"status"`
		}
		up := 0
		if err == nil && json.Unmarshal([]byte(out), &peers) == nil {
			for _, p := range peers {
				if p.Status == "up" {
					up++
				}
			}
		}
		if up >= n {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("router has %d BFD sessions up, want %d:\n%s", up, n, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sliceSummary lists default/web's EndpointSlices as "family address node
// ready port".
func sliceSummary(t *testing.T, ctx context.Context, l *lab.Lab) []string {
	t.Helper()
	slices_, err := l.Client().DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=web",
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range slices_.Items {
		for _, e := range s.Endpoints {
			state := "notready"
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				state = "ready"
			}
			var ports []string
			for _, p := range s.Ports {
				ports = append(ports, fmt.Sprintf("%s:%d", deref(p.Name), deref(p.Port)))
			}
			got = append(got, fmt.Sprintf("%s %s %s %s %s", s.AddressType, strings.Join(e.Addresses, ","), deref(e.NodeName), state, strings.Join(ports, ",")))
		}
	}
	slices.Sort(got)
	return got
}

func established(conds []apiextv1.CustomResourceDefinitionCondition) bool {
	for _, c := range conds {
		if c.Type == "Established" && c.Status == "True" {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// fakeHerald is a herald binary whose controller and frr-agent are built
// (they wait; the agent listens on its --socket) and whose speaker is not,
// to test how the lab starts, reports and ends herald's components.
const fakeHerald = `#!/bin/sh
cmd=$1; shift
case "$cmd" in
controller)
  [ "$1" = "-h" ] && { echo "  -kubeconfig string" >&2; exit 2; }
  sleep 3600 ;;
frr-agent)
  [ "$1" = "-h" ] && { echo "  -socket string" >&2; exit 2; }
  sock=${1#--socket=}
  python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); time.sleep(3600)' "$sock" ;;
speaker)
  echo "herald speaker: not built yet" >&2; exit 1 ;;
esac
echo "herald: unknown command \"$cmd\"" >&2; exit 2
`

func TestHeraldComponents(t *testing.T) {
	opts := options(t)
	opts.NoHerald = false
	opts.HeraldBin = filepath.Join(t.TempDir(), "herald")
	if err := os.WriteFile(opts.HeraldBin, []byte(fakeHerald), 0o755); err != nil {
		t.Fatal(err)
	}
	l := Up(t, opts)
	var got []string
	for _, c := range l.Components() {
		got = append(got, fmt.Sprintf("%s built=%v %s", c.Name, c.Built, c.Missing))
	}
	want := []string{"frr-agent built=true ", "speaker built=false `herald speaker` is not built yet", "controller built=true "}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Components (-want +got):\n%s", diff)
	}
	procs := l.Procs()
	for _, name := range []string{"controller", "frr-agent/node1", "frr-agent/node2", "frr-agent/node3"} {
		p, ok := procs[name]
		if !ok {
			t.Errorf("the lab did not start %s; it runs %v", name, slices.Sorted(maps.Keys(procs)))
			continue
		}
		wantNS := ""
		if n, ok := l.Plan().Node(strings.TrimPrefix(name, "frr-agent/")); ok {
			wantNS = n.Netns
			if !slices.Contains(p.Args, "--socket="+filepath.Join(l.Dir(), n.Name, "frr-agent.sock")) {
				t.Errorf("%s args %v lack its --socket", name, p.Args)
			}
		}
		if p.Netns != wantNS || !sameNetns(t, p.PID, wantNS) {
			t.Errorf("%s (pid %d) runs in namespace %q, want %q", name, p.PID, p.Netns, wantNS)
		}
	}
	if _, ok := procs["speaker/node1"]; ok {
		t.Errorf("the lab started a speaker that is not built")
	}
	if ok, bad := l.Status(context.Background()).Healthy(); !ok {
		t.Errorf("lab not healthy: %v", bad)
	}
	if err := l.Teardown(context.Background()); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	requireNothingLeft(t)
}

// sameNetns reports whether pid runs in named network namespace ns (the
// test's own when ns is empty).
func sameNetns(t *testing.T, pid int, ns string) bool {
	t.Helper()
	want := "/proc/self/ns/net"
	if ns != "" {
		want = "/var/run/netns/" + ns
	}
	a, err := os.Stat(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		t.Errorf("pid %d: %v", pid, err)
		return false
	}
	b, err := os.Stat(want)
	if err != nil {
		t.Errorf("%s: %v", want, err)
		return false
	}
	return os.SameFile(a, b)
}
