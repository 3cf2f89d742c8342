package promrules

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/heraldlb/herald/internal/testenv"
)

// ruleFile is the part of a Prometheus rule file these tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// unitTests is the part of a promtool test file these tests read.
type unitTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			EvalTime  string           `json:"eval_time"`
			Alertname string           `json:"alertname"`
			ExpAlerts []map[string]any `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestPromtool runs Debian's promtool on the rules: they parse and every
// unit test passes.
func TestPromtool(t *testing.T) {
	promtool := testenv.Command(t, "promtool", "Debian's prometheus package; hack/install-deps.sh installs it")
	if out, err := exec.Command(promtool, "--version").CombinedOutput(); err == nil {
		t.Logf("%s", strings.SplitN(string(out), "\n", 2)[0])
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// fixedObject is, for an alert about one object whose name no label
// carries, the name its summary and description must say.
var fixedObject = map[string]string{"HeraldControllerNoLeader": "Lease herald-controller"}

// TestEveryAlertDocumentedAndTested checks each alert: a severity, a
// summary and a description that use the labels naming the object, a
// runbook_url whose anchor is a heading of docs/alerts.md, and, in
// alerts_test.yaml, an evaluation where it fires followed by one where it
// is resolved.
func TestEveryAlertDocumentedAndTested(t *testing.T) {
	var rules ruleFile
	readYAML(t, "alerts.yaml", &rules)
	var tests unitTests
	readYAML(t, "alerts_test.yaml", &tests)
	runbook, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "docs", "alerts.md"))
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for _, l := range strings.Split(string(runbook), "\n") {
		if h, ok := strings.CutPrefix(l, "### "); ok {
			headings[strings.ToLower(strings.TrimSpace(h))] = true
		}
	}

	type eval struct {
		at     time.Duration
		firing bool
	}
	evals := map[string][]eval{}
	for _, tt := range tests.Tests {
		for _, a := range tt.AlertRuleTest {
			d, err := time.ParseDuration(a.EvalTime)
			if err != nil {
				t.Fatalf("alerts_test.yaml: eval_time %q of %s: %v", a.EvalTime, a.Alertname, err)
			}
			evals[a.Alertname] = append(evals[a.Alertname], eval{at: d, firing: len(a.ExpAlerts) > 0})
		}
	}

	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if r.Labels["severity"] != "critical" && r.Labels["severity"] != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, r.Labels["severity"])
			}
			for _, k := range []string{"summary", "description"} {
				named := strings.Contains(r.Annotations[k], "{{ $labels.")
				if obj, ok := fixedObject[r.Alert]; ok {
					named = strings.Contains(r.Annotations[k], obj)
				}
				if !named {
					t.Errorf("%s: its %s %q names no object (use the labels, e.g. {{ $labels.node }})", r.Alert, k, r.Annotations[k])
				}
			}
			url := r.Annotations["runbook_url"]
			anchor := url[strings.LastIndex(url, "#")+1:]
			if !strings.HasSuffix(strings.SplitN(url, "#", 2)[0], "/docs/alerts.md") || anchor != strings.ToLower(r.Alert) || !headings[anchor] {
				t.Errorf("%s: runbook_url %q: want docs/alerts.md#%s and a heading \"### %s\" there", r.Alert, url, strings.ToLower(r.Alert), r.Alert)
			}
			es := evals[r.Alert]
			slices.SortFunc(es, func(a, b eval) int { return int(a.at - b.at) })
			fired, resolved := false, false
			for _, e := range es {
				if e.firing {
					fired = true
				} else if fired {
					resolved = true
				}
			}
			if !fired || !resolved {
				t.Errorf("%s: alerts_test.yaml must show it firing, then resolved (fired: %v, resolved after: %v)", r.Alert, fired, resolved)
			}
		}
	}
	if n == 0 {
		t.Fatal("alerts.yaml has no alert")
	}
	for h := range headings {
		found := false
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				found = found || strings.ToLower(r.Alert) == h
			}
		}
		if !found {
			t.Errorf("docs/alerts.md has a runbook for %q, which alerts.yaml does not define", h)
		}
	}
}
