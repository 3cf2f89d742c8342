package observability

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/e2e/labtest"
	"github.com/heraldlb/herald/internal/frrproc"
	"github.com/heraldlb/herald/internal/testenv"
)

// stateInterval is how often a speaker reads FRR's state (its
// --state-interval default): how late it may see bgpd gone.
const stateInterval = 5 * time.Second

// alertFor returns the `for:` of alert name in the rule file.
func alertFor(t *testing.T, rules, name string) time.Duration {
	t.Helper()
	b, err := os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				For   string `json:"for"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == name {
				if r.For == "" {
					return 0
				}
				d, err := time.ParseDuration(r.For)
				if err != nil {
					t.Fatalf("%s: for %q: %v", name, r.For, err)
				}
				return d
			}
		}
	}
	t.Fatalf("%s has no alert %s", rules, name)
	return 0
}

// bound is the longest an alert may take to fire after its cause: the
// time for the component to see it (seen), a scrape, an evaluation making
// it pending, its for:, the evaluation that fires it, and the test's 1s
// poll.
func bound(forDur, seen time.Duration) time.Duration {
	return seen + 3*interval + forDur + time.Second
}

// result is one line of the table the test prints.
type result struct {
	alert, object, event string
	took, bound          time.Duration
}

func TestObservability(t *testing.T) {
	if testing.Short() {
		t.Skip("brings the lab up and runs Prometheus")
	}
	promBin := testenv.Command(t, "prometheus", "Debian's prometheus package; hack/install-deps.sh installs it")
	labtest.RequireOwnLab(t) // it kills bgpd on a node
	root := testenv.ModuleRoot(t)
	rules := filepath.Join(root, "config", "prometheus", "alerts.yaml")
	l := labtest.Up(t, lab.Options{})
	labtest.RequireComponents(t, l, lab.Controller, lab.Speaker, lab.FRRAgent)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	start := time.Now()

	// The sample objects (`make demo`): pool "lab", peers, BFD, BGP and L2
	// advertisements, Service default/demo.
	kubectl := filepath.Join(testenv.ControlPlane(t), "kubectl")
	if out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", l.Kubeconfig(), "apply", "-k", filepath.Join(root, "config", "samples")).CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply -k config/samples: %v\n%s", err, out)
	}

	prom := startPrometheus(t, promBin, promConfig(l, rules))
	nodes := l.Plan().Nodes
	want := 1 + 2*len(nodes)
	waitFor(t, ctx, 2*time.Minute, fmt.Sprintf("Prometheus should scrape the %d herald targets", want), func() (bool, string) {
		ts, err := prom.targets()
		if err != nil {
			return false, err.Error()
		}
		up, bad := 0, []string{}
		for _, tg := range ts {
			if tg.Health == "up" {
				up++
			} else {
				bad = append(bad, tg.ScrapeURL+": "+tg.Health+" "+tg.LastError)
			}
		}
		return up == want && len(ts) == want, fmt.Sprintf("%d of %d up; %v", up, len(ts), bad)
	})
	waitFor(t, ctx, 3*time.Minute, "every node should have its BGP sessions Established", func() (bool, string) {
		n, err := prom.instant(`count by (node) (herald_bgp_session_up == 1) unless count by (node) (herald_bgp_session_up == 0)`)
		if err != nil {
			return false, err.Error()
		}
		return n == len(nodes), fmt.Sprintf("%d of %d nodes", n, len(nodes))
	})

	var results []result
	c := l.Client()

	// A Service announced by every node while Prometheus watches: each
	// node's FRR applies a change (apply latency, applies, announce counts
	// have samples in the window the dashboard shows).
	applied, err := prom.value(`sum(herald_frr_apply_total{result="success"})`)
	if err != nil {
		t.Fatal(err)
	}
	announced := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "obs-announced", Namespace: "default", Annotations: map[string]string{"heraldlb.io/address-pool": "lab"}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Selector: map[string]string{"app": "obs-announced"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}},
	}
	if _, err := c.CoreV1().Services("default").Create(ctx, announced, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Service %s: %v", announced.Name, err)
	}
	t.Cleanup(func() {
		_ = c.CoreV1().Services("default").Delete(context.Background(), announced.Name, metav1.DeleteOptions{})
	})
	waitFor(t, ctx, 2*time.Minute, "every node's agent should apply the new Service's prefix", func() (bool, string) {
		v, err := prom.value(`sum(herald_frr_apply_total{result="success"})`)
		if err != nil {
			return false, err.Error()
		}
		return v >= applied+float64(len(nodes)), fmt.Sprintf("%v successful applies, want %v", v, applied+float64(len(nodes)))
	})

	// A pool used up: two addresses, two Services take them, a third waits.
	exhaustedFor := alertFor(t, rules, "HeraldPoolExhausted")
	pool := "obs-small"
	applyYAML(t, ctx, kubectl, l, fmt.Sprintf(`apiVersion: heraldlb.io/v1beta1
kind: IPAddressPool
metadata: {name: %s, namespace: %s}
spec:
  addresses: [192.0.2.250-192.0.2.251]
  autoAssign: false
`, pool, lab.HeraldNamespace))
	t.Cleanup(func() {
		_ = exec.Command(kubectl, "--kubeconfig", l.Kubeconfig(), "delete", "--ignore-not-found", "-n", lab.HeraldNamespace, "ipaddresspool", pool).Run()
	})
	var filled time.Time
	for _, name := range []string{"obs-a", "obs-b", "obs-c"} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: map[string]string{"heraldlb.io/address-pool": pool}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
				Selector: map[string]string{"app": name},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}},
		}
		if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating Service %s: %v", name, err)
		}
		t.Cleanup(func() { _ = c.CoreV1().Services("default").Delete(context.Background(), name, metav1.DeleteOptions{}) })
		if name == "obs-c" {
			break
		}
		waitFor(t, ctx, time.Minute, "Service "+name+" should get an address from "+pool, func() (bool, string) {
			s, err := c.CoreV1().Services("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return len(s.Status.LoadBalancer.Ingress) > 0, fmt.Sprintf("status %+v", s.Status)
		})
		filled = time.Now()
	}
	took := time.Since(filled) + waitFor(t, ctx, exhaustedFor+2*time.Minute, "HeraldPoolExhausted should fire for "+pool, func() (bool, string) {
		as, err := prom.firing("HeraldPoolExhausted", map[string]string{"pool": pool})
		if err != nil {
			return false, err.Error()
		}
		return len(as) > 0, "not firing"
	})
	// The allocator's gauge changes with the allocation: seen at the next
	// scrape (≤ interval), pending from the next evaluation (≤ interval),
	// firing at the first evaluation once for: has passed (≤ interval
	// more); the test looks once a second.
	results = append(results, result{"HeraldPoolExhausted", "pool " + pool, "second of 2 addresses assigned", took, bound(exhaustedFor, 0)})

	// bgpd killed on node1, again each time watchfrr restarts it, until the
	// alert fires; then left alone until the alert resolves.
	sessionFor := alertFor(t, rules, "HeraldBGPSessionDown")
	node := nodes[0]
	stopKilling := make(chan struct{})
	killed := make(chan int, 1)
	go killBGPD(node.Netns, stopKilling, killed)
	killStart := time.Now()
	// bgpd's own alert, which the agent's scrape-time check raises, is
	// timed on the way (it fires only if the scrapes catch bgpd dead
	// throughout its for:).
	var daemonDown time.Duration
	took = waitFor(t, ctx, sessionFor+2*time.Minute, "HeraldBGPSessionDown should fire for "+node.Name, func() (bool, string) {
		if daemonDown == 0 {
			if as, err := prom.firing("HeraldFRRDaemonDown", map[string]string{"node": node.Name, "daemon": "bgpd"}); err == nil && len(as) > 0 {
				daemonDown = time.Since(killStart)
			}
		}
		as, err := prom.firing("HeraldBGPSessionDown", map[string]string{"node": node.Name})
		if err != nil {
			return false, err.Error()
		}
		return len(as) > 0, "not firing"
	})
	close(stopKilling)
	kills := <-killed
	results = append(results, result{"HeraldBGPSessionDown", "node " + node.Name, fmt.Sprintf("bgpd killed (%d times)", kills), took, bound(sessionFor, stateInterval)})
	if daemonDown > 0 {
		results = append(results, result{"HeraldFRRDaemonDown", "node " + node.Name + " bgpd", "bgpd killed", daemonDown, bound(alertFor(t, rules, "HeraldFRRDaemonDown"), 0)})
	}
	resolved := waitFor(t, ctx, 5*time.Minute, "HeraldBGPSessionDown should resolve for "+node.Name, func() (bool, string) {
		n, err := prom.active("HeraldBGPSessionDown", map[string]string{"node": node.Name})
		if err != nil {
			return false, err.Error()
		}
		return n == 0, fmt.Sprintf("%d active", n)
	})
	results = append(results, result{"HeraldBGPSessionDown (resolved)", "node " + node.Name, "bgpd left to restart", resolved, 0})

	// Every panel of the dashboard has data over the test.
	panels := dashboardQueries(t, filepath.Join(root, "config", "grafana", "herald.json"))
	empty := 0
	for _, p := range panels {
		n, err := prom.rangeValues(p.expr, start)
		if err != nil || n == 0 {
			empty++
			t.Errorf("dashboard panel %q: query %s returned no data (%d samples, %v)", p.title, p.expr, n, err)
		}
	}
	t.Logf("dashboard: %d queries of %d panels, %d with no data", len(panels), countTitles(panels), empty)

	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ALERT\tOBJECT\tAFTER\tTOOK\tBOUND")
	for _, r := range results {
		bound := "-"
		if r.bound > 0 {
			bound = r.bound.String()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.alert, r.object, r.event, r.took.Round(100*time.Millisecond), bound)
	}
	w.Flush()
	fmt.Print("\n" + b.String())
	t.Logf("alerts (scrape and evaluation every %s):\n%s", interval, b.String())
	for _, r := range results {
		if r.bound > 0 && r.took > r.bound {
			t.Errorf("%s for %s took %s, over its bound %s (for: + the time to see it)", r.alert, r.object, r.took.Round(100*time.Millisecond), r.bound)
		}
	}
}

// killBGPD SIGKILLs the bgpd of FRR pathspace netns whenever one runs, as
// a crash-looping bgpd would, until stop is closed; it sends the number of
// kills on done.
func killBGPD(netns string, stop <-chan struct{}, done chan<- int) {
	pidFile := filepath.Join(frrproc.RunDir(netns), "bgpd.pid")
	last, kills := 0, 0
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			done <- kills
			return
		case <-tick.C:
		}
		b, err := os.ReadFile(pidFile)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil && pid != last {
			kills++
			last = pid
		}
	}
}

// panelQuery is one query of a dashboard panel, with Grafana's variables
// replaced as "All" and a one-minute rate interval would.
type panelQuery struct{ title, expr string }

func dashboardQueries(t *testing.T, path string) []panelQuery {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	vars := strings.NewReplacer(`"$job"`, `".+"`, `"$instance"`, `".+"`, "$__rate_interval", "1m")
	var out []panelQuery
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		for _, tg := range p.Targets {
			e := vars.Replace(tg.Expr)
			if regexp.MustCompile(`\$[a-z_]`).MatchString(e) {
				t.Fatalf("panel %q: query %s has a variable the test does not replace", p.Title, e)
			}
			out = append(out, panelQuery{p.Title, e})
		}
	}
	if len(out) == 0 {
		t.Fatal("the dashboard has no query")
	}
	return out
}

func countTitles(ps []panelQuery) int {
	seen := map[string]bool{}
	for _, p := range ps {
		seen[p.title] = true
	}
	return len(seen)
}
