package metricsdoc

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/internal/testenv"
	"github.com/heraldlb/herald/speaker"
	"github.com/heraldlb/herald/speaker/health"
	"github.com/heraldlb/herald/speaker/l2"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// row is one metric as the table or a registry describes it.
type row struct {
	Name, Type, Labels, Exporter string
}

// tableRows parses the rows of docs/metrics.md whose first cell is a
// herald_ metric name.
func tableRows(t *testing.T) map[string]row {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]row{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `herald_") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 5 {
			t.Fatalf("docs/metrics.md: row %q has %d cells, want 5 (name, type, labels, exporter, meaning)", line, len(cells))
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.TrimSpace(cells[4]) == "" {
			t.Errorf("docs/metrics.md: %s has no meaning", cells[0])
		}
		r := row{Name: strings.Trim(cells[0], "`"), Type: cells[1], Labels: normLabels(strings.Split(cells[2], ",")), Exporter: cells[3]}
		if _, dup := out[r.Name]; dup {
			t.Errorf("docs/metrics.md: %s has two rows", r.Name)
		}
		out[r.Name] = r
	}
	return out
}

func normLabels(ls []string) string {
	var out []string
	for _, l := range ls {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// recorder is a prometheus.Registerer that registers on a real registry
// and notes each collector's descriptions, with the type its Go type tells.
type recorder struct {
	reg      *prometheus.Registry
	exporter string
	rows     map[string]row
	t        *testing.T
}

var descRE = regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)

func (r *recorder) Register(c prometheus.Collector) error {
	if err := r.reg.Register(c); err != nil {
		return err
	}
	typ := ""
	switch c.(type) {
	case *prometheus.CounterVec, prometheus.Counter:
		typ = "counter"
	case *prometheus.GaugeVec, prometheus.Gauge:
		typ = "gauge"
	case *prometheus.HistogramVec, prometheus.Histogram:
		typ = "histogram"
	}
	// A Gauge has Inc and Add too: test it before Counter.
	if _, ok := c.(prometheus.Gauge); ok {
		typ = "gauge"
	}
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		m := descRE.FindStringSubmatch(d.String())
		if m == nil {
			r.t.Fatalf("cannot read the description %s", d)
		}
		if !strings.HasPrefix(m[1], "herald_") {
			continue
		}
		r.rows[m[1]] = row{Name: m[1], Type: typ, Labels: normLabels(strings.Split(m[2], ",")), Exporter: r.exporter}
	}
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *recorder) Unregister(c prometheus.Collector) bool { return r.reg.Unregister(c) }

// typesFromSamples fills in the type of collectors whose Go type does not
// tell it (herald's own collectors) from the families they expose.
func (r *recorder) typesFromSamples() {
	mfs, err := r.reg.Gather()
	if err != nil {
		r.t.Fatalf("gathering the %s's metrics: %v", r.exporter, err)
	}
	for _, mf := range mfs {
		row, ok := r.rows[mf.GetName()]
		if !ok || row.Type != "" {
			continue
		}
		row.Type = strings.ToLower(mf.GetType().String())
		r.rows[mf.GetName()] = row
	}
}

func newRecorder(t *testing.T, exporter string, rows map[string]row) *recorder {
	return &recorder{reg: prometheus.NewPedanticRegistry(), exporter: exporter, rows: rows, t: t}
}

// TestTableMatchesRegistries registers every component's metrics the way
// cmd/herald does, gives herald's own collectors something to report (a
// real API server holding a pending Service, an unannounced one and a
// NodeState; an agent whose daemons do not answer), and compares name,
// type, labels and exporter with docs/metrics.md.
func TestTableMatchesRegistries(t *testing.T) {
	_, c := apitest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	seed(ctx, t, c)

	got := map[string]row{}

	ctrl := newRecorder(t, "controller", got)
	if _, err := controllers.NewMetrics(ctrl, c, ""); err != nil {
		t.Fatal(err)
	}
	ctrl.typesFromSamples()

	spk := newRecorder(t, "speaker", got)
	if _, err := speaker.NewMetrics(spk); err != nil {
		t.Fatal(err)
	}
	if _, err := l2.NewMetrics(spk); err != nil {
		t.Fatal(err)
	}
	if _, err := health.NewMetrics(spk); err != nil {
		t.Fatal(err)
	}
	spk.typesFromSamples()

	agentRec := newRecorder(t, "frr-agent", got)
	agent, err := frragent.New(frragent.Options{
		Vtysh:      vtysh.Exec("vtysh", ""),
		Reload:     frragent.FRRReload(filepath.Join(testenv.FRRDir, "frr-reload.py"), "vtysh", "", t.TempDir()),
		ConfigPath: filepath.Join(t.TempDir(), "frr.conf"),
		// No FRR runs there: every daemon is down, which is a sample.
		VtyDir:     t.TempDir(),
		Registerer: agentRec,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := frragent.RegisterDaemonMetrics(agentRec, agent); err != nil {
		t.Fatal(err)
	}
	agentRec.typesFromSamples()

	want := tableRows(t)
	if len(want) == 0 {
		t.Fatal("docs/metrics.md has no metric rows")
	}
	for name, r := range got {
		if r.Type == "" {
			t.Errorf("%s (%s): no type known: neither its Go type nor a sample tells it", name, r.Exporter)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("docs/metrics.md (-) differs from what the components register (+): add a row for each new metric, remove the rows of metrics gone:\n%s", diff)
	}
}

// seed creates what herald's cluster collector reports: a served Service
// with no IP, one with an IP whose Announced condition is False, and a
// NodeState with an FRR generation.
func seed(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	lb := func(name string) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
				Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}},
		}
	}
	pending := lb("pending")
	if err := c.Create(ctx, pending); err != nil {
		t.Fatal(err)
	}
	dark := lb("dark")
	if err := c.Create(ctx, dark); err != nil {
		t.Fatal(err)
	}
	dark.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}
	dark.Status.Conditions = []metav1.Condition{{Type: controllers.ConditionAnnounced, Status: metav1.ConditionFalse,
		Reason: controllers.ReasonPending, Message: "the speakers have not reported it yet", LastTransitionTime: metav1.Now()}}
	if err := c.Status().Update(ctx, dark); err != nil {
		t.Fatal(err)
	}
	ns := &v1beta1.NodeState{ObjectMeta: metav1.ObjectMeta{Name: "node1"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	ns.Status.FRR = &v1beta1.FRRConfigStatus{Generation: 3, Result: v1beta1.FRRApplied, Time: metav1.Now()}
	if err := c.Status().Update(ctx, ns); err != nil {
		t.Fatal(err)
	}
}
