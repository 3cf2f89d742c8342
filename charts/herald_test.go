package charts

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/heraldlb/herald/internal/testenv"
)

func TestLint(t *testing.T) {
	helm := testenv.Tool(t, "helm", "helm")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{name: "default values"},
		{name: "L2 off", args: []string{"--set", "l2.enabled=false"}},
		{name: "namespace created", args: []string{"--set", "namespace.create=true"}},
		{name: "upstream FRR image", args: []string{"--values", "charts/herald/ci/upstream-frr-values.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, helm, append([]string{"lint", "--strict", "--namespace", namespace, "charts/herald"}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "0 chart(s) failed") {
				t.Errorf("helm lint did not say 0 chart(s) failed:\n%s", out)
			}
		})
	}
}

// TestCRDsMatchConfig checks that charts/herald/crds holds exactly the
// generated CRDs of config/crd (`make chart-crds` copies them).
func TestCRDsMatchConfig(t *testing.T) {
	root := testenv.ModuleRoot(t)
	read := func(dir string) map[string]string {
		t.Helper()
		files, err := filepath.Glob(filepath.Join(root, dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, f := range files {
			if filepath.Base(f) == "kustomization.yaml" {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m[filepath.Base(f)] = string(b)
		}
		return m
	}
	want, got := read("config/crd"), read("charts/herald/crds")
	if len(want) == 0 {
		t.Fatal("config/crd holds no CRD")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("charts/herald/crds differs from config/crd (run `make chart-crds`) (-config/crd +chart):\n%s", diff)
	}
}

// TestDefaultValuesMatchKustomize renders the chart with default values and
// config/default, and compares them object by object. The only differences
// allowed: Helm's bookkeeping labels, and config/default's Namespace, which
// the chart renders only with namespace.create=true (`helm install
// --create-namespace` makes it otherwise) — that object is compared from
// such a render.
func TestDefaultValuesMatchKustomize(t *testing.T) {
	kust := byKey(t, "config/default", kustomize(t, "config/default"))
	chart := byKey(t, "the chart", mustHelmTemplate(t))
	for k, o := range chart {
		if o.GetKind() == "Namespace" {
			t.Errorf("the chart renders %s with default values: `helm install --create-namespace` would then fail on it", k)
		}
	}
	nsKey := "Namespace//" + namespace
	if _, ok := kust[nsKey]; !ok {
		t.Errorf("config/default has no Namespace %s", namespace)
	}
	withNS := byKey(t, "the chart with namespace.create=true", mustHelmTemplate(t, "--set", "namespace.create=true"))
	if ns, ok := withNS[nsKey]; ok {
		chart[nsKey] = ns
	}

	for _, k := range keys(kust) {
		if _, ok := chart[k]; !ok {
			t.Errorf("%s is in config/default but not in the chart", k)
		}
	}
	for _, k := range keys(chart) {
		want, ok := kust[k]
		if !ok {
			t.Errorf("%s is in the chart but not in config/default", k)
			continue
		}
		got := chart[k].DeepCopy()
		dropHelmLabels(got)
		if diff := cmp.Diff(want.Object, got.Object); diff != "" {
			t.Errorf("%s differs (-config/default +chart):\n%s", k, diff)
		}
	}
}

// TestHelmLabels checks that the chart's objects carry Helm's bookkeeping
// labels, the only labels the comparison with config/default drops.
func TestHelmLabels(t *testing.T) {
	for _, o := range mustHelmTemplate(t) {
		if o.GetKind() == "CustomResourceDefinition" {
			continue // crds/ is installed as is, not templated
		}
		for _, l := range helmLabels {
			if _, ok := o.GetLabels()[l]; !ok {
				t.Errorf("%s lacks the label %s", key(o), l)
			}
		}
	}
}

func TestValueSets(t *testing.T) {
	const (
		speaker    = "herald-speaker"
		controller = "herald-controller"
	)
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, objs []*unstructured.Unstructured)
	}{{
		name: "default values: BGP and L2 on, versioned tags",
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			ds := find(t, objs, "DaemonSet", speaker)
			for _, c := range []struct{ field, name string }{
				{"containers", "speaker"}, {"containers", "frr"}, {"initContainers", "copy-herald"},
			} {
				ctr := container(t, ds, c.field, c.name)
				if ctr == nil {
					t.Fatalf("the speaker has no %s %s", c.field, c.name)
				}
				if img, _ := ctr["image"].(string); strings.HasSuffix(img, ":latest") || !strings.Contains(img, ":") {
					t.Errorf("%s %s: image %q has no versioned tag", c.field, c.name, img)
				}
			}
			args := stringList(container(t, ds, "containers", "speaker"), "args")
			for _, a := range []string{"--l2=false", "--bgp=false"} {
				if slices.Contains(args, a) {
					t.Errorf("the speaker's args %q hold %s with default values", args, a)
				}
			}
			dep := find(t, objs, "Deployment", controller)
			if r, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); r != 2 {
				t.Errorf("controller replicas = %d, want 2", r)
			}
			crds := 0
			for _, o := range objs {
				if o.GetKind() == "CustomResourceDefinition" {
					crds++
				}
			}
			if crds != 7 {
				t.Errorf("%d CRDs rendered, want herald's 7", crds)
			}
		},
	}, {
		name: "L2 off",
		args: []string{"--set", "l2.enabled=false"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			ds := find(t, objs, "DaemonSet", speaker)
			sp := container(t, ds, "containers", "speaker")
			if args := stringList(sp, "args"); !slices.Contains(args, "--l2=false") {
				t.Errorf("the speaker's args %q lack --l2=false", args)
			}
			ports, _ := sp["ports"].([]any)
			for _, p := range ports {
				if name := p.(map[string]any)["name"]; strings.HasPrefix(name.(string), "memberlist") {
					t.Errorf("the speaker still exposes port %s with L2 off", name)
				}
			}
			if container(t, ds, "containers", "frr") == nil {
				t.Error("the FRR sidecar is gone with only L2 off")
			}
			dep := find(t, objs, "Deployment", controller)
			if args := stringList(container(t, dep, "containers", "controller"), "args"); !slices.Contains(args, "--memberlist-secret=") {
				t.Errorf("the controller's args %q lack --memberlist-secret= (no membership Secret with L2 off)", args)
			}
		},
	}, {
		name: "BGP off",
		args: []string{"--set", "bgp.enabled=false"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			ds := find(t, objs, "DaemonSet", speaker)
			if args := stringList(container(t, ds, "containers", "speaker"), "args"); !slices.Contains(args, "--bgp=false") {
				t.Errorf("the speaker's args %q lack --bgp=false", args)
			}
			if container(t, ds, "containers", "frr") != nil {
				t.Error("the FRR sidecar is still there with BGP off")
			}
			if container(t, ds, "initContainers", "copy-herald") != nil {
				t.Error("the init container copying herald for the frr-agent is still there with BGP off")
			}
			vols, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "volumes")
			var names []string
			for _, v := range vols {
				names = append(names, v.(map[string]any)["name"].(string))
			}
			if slices.Contains(names, "frr-conf") || slices.Contains(names, "herald-bin") {
				t.Errorf("the speaker pod keeps FRR's volumes %q with BGP off", names)
			}
		},
	}, {
		name: "loadBalancerClass and log level",
		args: []string{"--set", "loadBalancerClass=heraldlb.io/bgp", "--set", "logLevel=debug"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			for _, c := range []struct {
				obj       *unstructured.Unstructured
				container string
			}{
				{find(t, objs, "Deployment", controller), "controller"},
				{find(t, objs, "DaemonSet", speaker), "speaker"},
			} {
				args := stringList(container(t, c.obj, "containers", c.container), "args")
				for _, want := range []string{"--lb-class=heraldlb.io/bgp", "--log-level=debug"} {
					if !slices.Contains(args, want) {
						t.Errorf("%s's args %q lack %s", c.container, args, want)
					}
				}
			}
		},
	}, {
		name: "an existing FRR image",
		args: []string{
			"--set", "frr.image.repository=registry.example/frr", "--set", "frr.image.tag=10.2.1",
			"--set", "frr.command={/bin/sh,-c}", "--set", "frr.args={/usr/lib/frr/frrinit.sh start && exec /shared/herald frr-agent}",
		},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			frr := container(t, find(t, objs, "DaemonSet", speaker), "containers", "frr")
			if frr == nil {
				t.Fatal("no FRR sidecar")
			}
			want := map[string]any{
				"image":   "registry.example/frr:10.2.1",
				"command": []string{"/bin/sh", "-c"},
				"args":    []string{"/usr/lib/frr/frrinit.sh start && exec /shared/herald frr-agent"},
			}
			got := map[string]any{"image": frr["image"], "command": stringList(frr, "command"), "args": stringList(frr, "args")}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the FRR sidecar (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "scheduling, resources, replicas, image tag and pull secrets",
		args: []string{
			"--set", "image.tag=v9.9.9", "--set", "controller.replicas=3",
			"--set", "speaker.nodeSelector.role=edge", "--set", "controller.nodeSelector.role=infra",
			"--set", "speaker.tolerations[0].operator=Exists",
			"--set", "speaker.resources.limits.memory=100Mi", "--set", "imagePullSecrets[0].name=regcred",
			"--set", "l2.membership.existingSecret=my-key",
		},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			dep := find(t, objs, "Deployment", controller)
			ds := find(t, objs, "DaemonSet", speaker)
			got := map[string]any{}
			got["replicas"], _, _ = unstructured.NestedInt64(dep.Object, "spec", "replicas")
			got["controller nodeSelector"], _, _ = unstructured.NestedStringMap(dep.Object, "spec", "template", "spec", "nodeSelector")
			got["speaker nodeSelector"], _, _ = unstructured.NestedStringMap(ds.Object, "spec", "template", "spec", "nodeSelector")
			got["speaker tolerations"], _, _ = unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "tolerations")
			got["speaker pull secrets"], _, _ = unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "imagePullSecrets")
			got["speaker image"] = container(t, ds, "containers", "speaker")["image"]
			got["controller image"] = container(t, dep, "containers", "controller")["image"]
			got["speaker resources"] = container(t, ds, "containers", "speaker")["resources"]
			got["membership secret"] = slices.Contains(stringList(container(t, ds, "containers", "speaker"), "args"), "--memberlist-secret=my-key")
			got["controller makes no secret"] = slices.Contains(stringList(container(t, dep, "containers", "controller"), "args"), "--memberlist-secret=")
			want := map[string]any{
				"replicas":                int64(3),
				"controller nodeSelector": map[string]string{"role": "infra"},
				"speaker nodeSelector":    map[string]string{"role": "edge"},
				"speaker tolerations":     []any{map[string]any{"operator": "Exists"}},
				"speaker pull secrets":    []any{map[string]any{"name": "regcred"}},
				"speaker image":           "ghcr.io/heraldlb/herald:v9.9.9",
				"controller image":        "ghcr.io/heraldlb/herald:v9.9.9",
				"speaker resources": map[string]any{"limits": map[string]any{"memory": "100Mi"},
					"requests": map[string]any{"cpu": "20m", "memory": "48Mi"}},
				"membership secret":          true,
				"controller makes no secret": true,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, mustHelmTemplate(t, tc.args...))
		})
	}
}

// TestBadValues checks that values that would make a broken install are
// refused with a message naming the value and the fix.
func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"neither mode", []string{"--set", "bgp.enabled=false", "--set", "l2.enabled=false"}, "values bgp.enabled and l2.enabled are both false"},
		{"log level", []string{"--set", "logLevel=verbose"}, `value logLevel "verbose" is not a log level: use debug, info or error`},
		{"class", []string{"--set", "loadBalancerClass=not a class"}, `value loadBalancerClass "not a class" is not a label-style name`},
		{"replicas", []string{"--set", "controller.replicas=0"}, "value controller.replicas is 0: run at least 1"},
		{"no FRR image", []string{"--set", "frr.image.repository="}, "value frr.image.repository is empty while bgp.enabled is true"},
		{"misspelt value", []string{"--set", "loadbalancerClass=heraldlb.io/bgp"}, "additional properties 'loadbalancerClass' not allowed"},
		{"replicas not a number", []string{"--set", "controller.replicas=two"}, "at '/controller/replicas': got string, want integer"},
		{"bad pull policy", []string{"--set", "image.pullPolicy=Sometimes"}, "/image/pullPolicy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := helmTemplate(t, tc.args...)
			if err == nil {
				t.Fatalf("helm template %q succeeded, want an error saying %q", tc.args, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template %q failed with\n%v\nwant it to say %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestNotes checks that what `helm install` prints says how to check the
// install, for the modes it installed.
func TestNotes(t *testing.T) {
	helm := testenv.Tool(t, "helm", "helm")
	for _, tc := range []struct {
		name          string
		args          []string
		want, notWant []string
	}{
		{
			name: "default values",
			want: []string{"kubectl -n herald-system get pods", "kubectl get nodestates", "kubectl herald status",
				"BGP on, Layer 2 on", "BGPPeers and a BGPAdvertisement", "L2Advertisement"},
		},
		{
			name:    "L2 off, a class",
			args:    []string{"--set", "l2.enabled=false", "--set", "loadBalancerClass=heraldlb.io/bgp"},
			want:    []string{"kubectl herald status", "Layer 2 off", "serving loadBalancerClass heraldlb.io/bgp"},
			notWant: []string{"L2Advertisement"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, helm, append([]string{"install", release, "charts/herald", "--namespace", namespace, "--dry-run=client"}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			_, notes, ok := strings.Cut(string(out), "\nNOTES:\n")
			if !ok {
				t.Fatalf("helm install --dry-run printed no NOTES:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(notes, w) {
					t.Errorf("NOTES say %q:\n%s", w, notes)
				}
			}
		})
	}
}
