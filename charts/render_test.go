package charts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/heraldlb/herald/internal/testenv"
)

// release and namespace are what the tests install the chart as: the names
// the README gives (`helm install herald charts/herald -n herald-system`).
const (
	release   = "herald"
	namespace = "herald-system"
)

// helmLabels are the labels Helm's bookkeeping adds to every object of the
// chart and config/default does not carry; the comparison drops only these.
var helmLabels = []string{"helm.sh/chart", "app.kubernetes.io/managed-by"}

// run runs a command from the module root and returns its standard output;
// a failure reports the command and its standard error.
func run(t *testing.T, name string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = testenv.ModuleRoot(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w\n%s%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.Bytes(), nil
}

// helmTemplate renders the chart with the given extra arguments (--set,
// --values), CRDs included.
func helmTemplate(t *testing.T, args ...string) ([]*unstructured.Unstructured, error) {
	t.Helper()
	helm := testenv.Tool(t, "helm", "helm")
	full := append([]string{"template", release, "charts/herald", "--namespace", namespace, "--include-crds"}, args...)
	out, err := run(t, helm, full...)
	if err != nil {
		return nil, err
	}
	return parseObjects(out)
}

// mustHelmTemplate is helmTemplate for value sets that must render.
func mustHelmTemplate(t *testing.T, args ...string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := helmTemplate(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// kustomize renders a kustomization folder with the project's kubectl.
func kustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	kubectl := testenv.Tool(t, "kubectl", "control-plane")
	out, err := run(t, kubectl, "kustomize", dir)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := parseObjects(out)
	if err != nil {
		t.Fatalf("parsing kubectl kustomize %s: %v", dir, err)
	}
	return objs
}

// parseObjects splits a YAML stream into objects, skipping empty documents
// (a template that renders nothing).
func parseObjects(stream []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var objs []*unstructured.Unstructured
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading document %d: %w", i, err)
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w\n%s", i, err, doc)
		}
		if s := strings.TrimSpace(string(j)); s == "null" || s == "{}" {
			continue
		}
		// Unstructured's own JSON decoding keeps integers as int64.
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(j); err != nil {
			return nil, fmt.Errorf("document %d: %w\n%s", i, err, doc)
		}
		objs = append(objs, o)
	}
}

// key names an object as kind/namespace/name (namespace empty for
// cluster-scoped objects), as a failure message shows it.
func key(o *unstructured.Unstructured) string {
	return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}

// byKey indexes objects by key, failing on a duplicate.
func byKey(t *testing.T, what string, objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	t.Helper()
	m := make(map[string]*unstructured.Unstructured, len(objs))
	for _, o := range objs {
		if _, dup := m[key(o)]; dup {
			t.Fatalf("%s renders %s twice", what, key(o))
		}
		m[key(o)] = o
	}
	return m
}

// keys returns the sorted keys of m.
func keys(m map[string]*unstructured.Unstructured) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// dropHelmLabels removes Helm's bookkeeping labels from an object's own
// metadata (not from selectors or pod templates, where the chart puts none).
func dropHelmLabels(o *unstructured.Unstructured) {
	labels := o.GetLabels()
	for _, l := range helmLabels {
		delete(labels, l)
	}
	if len(labels) == 0 {
		unstructured.RemoveNestedField(o.Object, "metadata", "labels")
		return
	}
	o.SetLabels(labels)
}

// find returns the object of the given kind and name, failing when absent.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s among the rendered objects", kind, name)
	return nil
}

// container returns the named container (or init container) of a pod
// template of a Deployment or DaemonSet, or nil.
func container(t *testing.T, o *unstructured.Unstructured, field, name string) map[string]any {
	t.Helper()
	cs, _, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", field)
	if err != nil {
		t.Fatalf("%s: spec.template.spec.%s: %v", key(o), field, err)
	}
	for _, c := range cs {
		m, ok := c.(map[string]any)
		if ok && m["name"] == name {
			return m
		}
	}
	return nil
}

// strings returns a container's list field (args, command) as strings.
func stringList(c map[string]any, field string) []string {
	l, _ := c[field].([]any)
	out := make([]string, 0, len(l))
	for _, v := range l {
		out = append(out, fmt.Sprint(v))
	}
	return out
}
