package charts

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/heraldlb/herald/internal/testenv"
)

// TestMonitoringFilesMatchConfig checks that the chart's copies of the
// alert rules and the dashboard are config/prometheus's and
// config/grafana's (`make chart-files` copies them).
func TestMonitoringFilesMatchConfig(t *testing.T) {
	root := testenv.ModuleRoot(t)
	for chart, src := range map[string]string{
		"charts/herald/files/alerts.yaml":           "config/prometheus/alerts.yaml",
		"charts/herald/files/herald-dashboard.json": "config/grafana/herald.json",
	} {
		want, err := os.ReadFile(filepath.Join(root, src))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, chart))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from %s: run `make chart-files`", chart, src)
		}
	}
}

// TestMonitoring renders the chart with and without Prometheus Operator's
// API and checks what scrapes herald: ServiceMonitors (HTTPS, Prometheus'
// token, the node label, the agents through /metrics/frr-agent) and the
// PrometheusRule holding config/prometheus/alerts.yaml when the API is
// there; the pods' prometheus.io annotations otherwise; the dashboard
// ConfigMap and the reader binding on request.
func TestMonitoring(t *testing.T) {
	const operator = "monitoring.coreos.com/v1"
	root := testenv.ModuleRoot(t)
	rulesFile, err := os.ReadFile(filepath.Join(root, "config", "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules map[string]any
	if err := yaml.Unmarshal(rulesFile, &rules); err != nil {
		t.Fatal(err)
	}
	dashboard, err := os.ReadFile(filepath.Join(root, "config", "grafana", "herald.json"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := func(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
		var out []*unstructured.Unstructured
		for _, o := range objs {
			if o.GetKind() == kind {
				out = append(out, o)
			}
		}
		return out
	}
	annotated := func(t *testing.T, objs []*unstructured.Unstructured) bool {
		t.Helper()
		n := 0
		for _, w := range []struct{ kind, name string }{{"Deployment", "herald-controller"}, {"DaemonSet", "herald-speaker"}} {
			a, _, _ := unstructured.NestedStringMap(find(t, objs, w.kind, w.name).Object, "spec", "template", "metadata", "annotations")
			if a["prometheus.io/scrape"] == "true" && a["prometheus.io/scheme"] == "https" {
				n++
			}
		}
		if n == 1 {
			t.Errorf("only one of the controller and the speaker has scrape annotations")
		}
		return n == 2
	}
	for _, tc := range []struct {
		name                      string
		args                      []string
		monitors, rule, annotated bool
		dashboard, binding        bool
	}{
		{name: "no operator API", annotated: true},
		{name: "operator API", args: []string{"--api-versions", operator}, monitors: true, rule: true},
		{name: "operator API, both off", args: []string{"--api-versions", operator, "--set", "metrics.serviceMonitor=false", "--set", "metrics.prometheusRule=false"}, annotated: true},
		{name: "forced on without the API", args: []string{"--set", "metrics.serviceMonitor=true", "--set", "metrics.prometheusRule=true"}, monitors: true, rule: true},
		{name: "operator API, upstream FRR (no agent metrics)", args: []string{"--api-versions", operator, "--values", "charts/herald/ci/upstream-frr-values.yaml"}, monitors: true, rule: true},
		{name: "dashboard and reader binding", args: []string{"--set", "metrics.dashboard=true", "--set", "metrics.prometheusServiceAccount.name=prometheus-k8s", "--set", "metrics.prometheusServiceAccount.namespace=monitoring"},
			annotated: true, dashboard: true, binding: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := mustHelmTemplate(t, tc.args...)
			if got := annotated(t, objs); got != tc.annotated {
				t.Errorf("scrape annotations on the pods: %v, want %v", got, tc.annotated)
			}
			sms := kinds(objs, "ServiceMonitor")
			if tc.monitors != (len(sms) == 2) || (!tc.monitors && len(sms) > 0) {
				t.Errorf("%d ServiceMonitors, want them: %v", len(sms), tc.monitors)
			}
			paths := map[string]string{}
			for _, sm := range sms {
				eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
				for _, e := range eps {
					ep := e.(map[string]any)
					var job, node string
					for _, r := range ep["relabelings"].([]any) {
						rl := r.(map[string]any)
						switch rl["targetLabel"] {
						case "job":
							job, _ = rl["replacement"].(string)
						case "node":
							node = "set"
						}
					}
					if ep["scheme"] != "https" || ep["bearerTokenFile"] != "/var/run/secrets/kubernetes.io/serviceaccount/token" || node == "" {
						t.Errorf("ServiceMonitor %s endpoint %v: want https, Prometheus' token and the node label", sm.GetName(), ep)
					}
					paths[job] = ep["path"].(string)
				}
			}
			if tc.monitors {
				want := map[string]string{"herald-controller": "/metrics", "herald-speaker": "/metrics", "herald-frr-agent": "/metrics/frr-agent"}
				if slices.Contains(tc.args, "charts/herald/ci/upstream-frr-values.yaml") {
					// That FRR runs the agent without --metrics-address: the
					// speaker has nothing to serve again.
					delete(want, "herald-frr-agent")
				}
				if diff := cmp.Diff(want, paths); diff != "" {
					t.Errorf("scraped jobs and paths (-want +got):\n%s", diff)
				}
			}
			prs := kinds(objs, "PrometheusRule")
			if tc.rule != (len(prs) == 1) {
				t.Errorf("%d PrometheusRules, want one: %v", len(prs), tc.rule)
			}
			for _, pr := range prs {
				spec, _, _ := unstructured.NestedMap(pr.Object, "spec")
				if diff := cmp.Diff(rules, spec); diff != "" {
					t.Errorf("the PrometheusRule's spec differs from config/prometheus/alerts.yaml (-file +chart):\n%s", diff)
				}
			}
			var cm *unstructured.Unstructured
			for _, o := range kinds(objs, "ConfigMap") {
				if o.GetName() == "herald-dashboard" {
					cm = o
				}
			}
			if tc.dashboard != (cm != nil) {
				t.Errorf("dashboard ConfigMap rendered: %v, want %v", cm != nil, tc.dashboard)
			}
			if cm != nil {
				data, _, _ := unstructured.NestedString(cm.Object, "data", "herald.json")
				if data != string(dashboard[:len(dashboard)-1]) && data != string(dashboard) {
					t.Errorf("the dashboard ConfigMap's herald.json differs from config/grafana/herald.json")
				}
				if cm.GetLabels()["grafana_dashboard"] != "1" {
					t.Errorf("dashboard ConfigMap labels %v: want grafana_dashboard: \"1\"", cm.GetLabels())
				}
			}
			var binding *unstructured.Unstructured
			for _, o := range kinds(objs, "ClusterRoleBinding") {
				if o.GetName() == "herald-metrics-reader" {
					binding = o
				}
			}
			if tc.binding != (binding != nil) {
				t.Errorf("metrics reader binding rendered: %v, want %v", binding != nil, tc.binding)
			}
			if binding != nil {
				subs, _, _ := unstructured.NestedSlice(binding.Object, "subjects")
				want := []any{map[string]any{"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}}
				if diff := cmp.Diff(want, subs); diff != "" {
					t.Errorf("binding subjects (-want +got):\n%s", diff)
				}
			}
		})
	}
}
