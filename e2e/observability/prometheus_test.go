package observability

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldlb/herald/e2e/lab"
)

// Scrape and rule evaluation interval of the test's Prometheus.
const interval = 5 * time.Second

// prometheus is a Prometheus server the test started, and its HTTP API.
type prometheus struct {
	addr string
	cmd  *exec.Cmd
	log  *os.File
}

// promConfig is the Prometheus configuration scraping every herald
// component of l, with the rule file loaded. Speaker and agent targets
// carry the node's name in "node", as the chart's ServiceMonitors set it.
func promConfig(l *lab.Lab, rules string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: 4s\n  evaluation_interval: %s\n", interval, interval)
	fmt.Fprintf(&b, "rule_files:\n  - %q\n", rules)
	b.WriteString("scrape_configs:\n")
	fmt.Fprintf(&b, "  - job_name: herald-controller\n    static_configs:\n      - targets: [%q]\n", lab.MetricsAddr(nil))
	b.WriteString("  - job_name: herald-speaker\n    static_configs:\n")
	for _, n := range l.Plan().Nodes {
		fmt.Fprintf(&b, "      - targets: [%q]\n        labels: {node: %q}\n", lab.MetricsAddr(&n), n.Name)
	}
	b.WriteString("  - job_name: herald-frr-agent\n    static_configs:\n")
	for _, n := range l.Plan().Nodes {
		fmt.Fprintf(&b, "      - targets: [%q]\n        labels: {node: %q}\n", lab.AgentMetricsAddr(n), n.Name)
	}
	return b.String()
}

// startPrometheus runs bin with the configuration, its data in a folder of
// the test's, on a free port of 127.0.0.1, and stops it when the test ends.
func startPrometheus(t *testing.T, bin, config string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	p := &prometheus{addr: addr, cmd: cmd, log: logf}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("prometheus log:\n%s", b)
			}
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus on %s not ready after a minute: %v", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// get calls the API and decodes its "data" into v.
func (p *prometheus) get(path string, q url.Values, v any) error {
	resp, err := http.Get("http://" + p.addr + path + "?" + q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s %v: %s", path, q, body.Error)
	}
	return json.Unmarshal(body.Data, v)
}

// target is one scrape target's health.
type target struct {
	Labels    map[string]string `json:"labels"`
	Health    string            `json:"health"`
	LastError string            `json:"lastError"`
	ScrapeURL string            `json:"scrapeUrl"`
}

func (p *prometheus) targets() ([]target, error) {
	var d struct {
		Active []target `json:"activeTargets"`
	}
	err := p.get("/api/v1/targets", url.Values{"state": {"active"}}, &d)
	return d.Active, err
}

// alert is one active alert (pending or firing).
type alert struct {
	Labels   map[string]string `json:"labels"`
	State    string            `json:"state"`
	ActiveAt time.Time         `json:"activeAt"`
}

func (p *prometheus) alerts() ([]alert, error) {
	var d struct {
		Alerts []alert `json:"alerts"`
	}
	err := p.get("/api/v1/alerts", nil, &d)
	return d.Alerts, err
}

// firing returns the firing alerts named name whose labels include match.
func (p *prometheus) firing(name string, match map[string]string) ([]alert, error) {
	as, err := p.alerts()
	if err != nil {
		return nil, err
	}
	var out []alert
	for _, a := range as {
		if a.Labels["alertname"] != name || a.State != "firing" {
			continue
		}
		ok := true
		for k, v := range match {
			ok = ok && a.Labels[k] == v
		}
		if ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// active is firing, pending included.
func (p *prometheus) active(name string, match map[string]string) (int, error) {
	as, err := p.alerts()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range as {
		ok := a.Labels["alertname"] == name
		for k, v := range match {
			ok = ok && a.Labels[k] == v
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// instant evaluates expr now and returns the number of series.
func (p *prometheus) instant(expr string) (int, error) {
	var d struct {
		Result []json.RawMessage `json:"result"`
	}
	err := p.get("/api/v1/query", url.Values{"query": {expr}}, &d)
	return len(d.Result), err
}

// value evaluates expr now and returns its single value (0 when it has
// no series).
func (p *prometheus) value(expr string) (float64, error) {
	var d struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {expr}}, &d); err != nil {
		return 0, err
	}
	if len(d.Result) == 0 {
		return 0, nil
	}
	s, _ := d.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

// rangeValues evaluates expr from start to now and counts the samples that
// are numbers (not NaN).
func (p *prometheus) rangeValues(expr string, start time.Time) (int, error) {
	var d struct {
		Result []struct {
			Values [][2]any `json:"values"`
		} `json:"result"`
	}
	q := url.Values{"query": {expr}, "start": {strconv.FormatInt(start.Unix(), 10)},
		"end": {strconv.FormatInt(time.Now().Unix(), 10)}, "step": {"5"}}
	if err := p.get("/api/v1/query_range", q, &d); err != nil {
		return 0, err
	}
	n := 0
	for _, r := range d.Result {
		for _, v := range r.Values {
			s, _ := v[1].(string)
			if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) {
				n++
			}
		}
	}
	return n, nil
}

// waitFor polls cond every second until it holds or timeout passes; it
// returns how long that took.
func waitFor(t *testing.T, ctx context.Context, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for {
		ok, why := cond()
		if ok {
			return time.Since(start)
		}
		last = why
		if time.Since(start) > timeout {
			t.Fatalf("after %s, %s: %s", timeout, what, last)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v (last: %s)", what, ctx.Err(), last)
		case <-time.After(time.Second):
		}
	}
}
