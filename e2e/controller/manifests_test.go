package controller

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/internal/testenv"
)

// readManifests returns every object of the files a kustomization.yaml
// lists, checking that it lists every YAML file of its folder.
func readManifests(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(raw, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	listed := map[string]bool{}
	for _, r := range k.Resources {
		listed[r] = true
	}
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !listed[b] {
			t.Errorf("%s is not listed in %s/kustomization.yaml", b, dir)
		}
	}
	var out []*unstructured.Unstructured
	for _, r := range k.Resources {
		f, err := os.Open(filepath.Join(dir, r))
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
		for {
			obj := &unstructured.Unstructured{}
			if err := dec.Decode(&obj.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s/%s: %v", dir, r, err)
			}
			if len(obj.Object) > 0 {
				out = append(out, obj)
			}
		}
		f.Close()
	}
	return out
}

// TestManifestsDryRun sends every manifest of config/manager and
// config/rbac to a real API server (with herald's CRDs) as a server-side
// apply in dry-run mode: schema, defaults and validation all run.
func TestManifestsDryRun(t *testing.T) {
	_, c := apitest.Start(t)
	root := testenv.ModuleRoot(t)
	ctx := context.Background()
	// The namespace must exist for the namespaced objects' dry-runs.
	apitest.Namespace(t, c, "herald-system")
	var objs []*unstructured.Unstructured
	for _, d := range []string{"config/manager", "config/rbac"} {
		objs = append(objs, readManifests(t, filepath.Join(root, d))...)
	}
	kinds := map[string]int{}
	for _, obj := range objs {
		kinds[obj.GetKind()]++
		err := c.Patch(ctx, obj, client.Apply, client.DryRunAll, client.FieldOwner("herald-manifest-test"), client.ForceOwnership)
		if err != nil {
			t.Errorf("%s %s/%s rejected: %v", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
	}
	for _, k := range []string{"Namespace", "Deployment", "DaemonSet", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"} {
		if kinds[k] == 0 {
			t.Errorf("no %s among the manifests", k)
		}
	}
}

// TestDockerfileBuild runs the `go build` commands of the Dockerfile's build
// stage (with its flags, into a temporary folder), so a Dockerfile whose
// build breaks fails here without a container runtime.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both binaries")
	}
	root := testenv.ModuleRoot(t)
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(df), "\\\n", " ")
	if !regexp.MustCompile(`(?m)^FROM golang:1\.26\S* AS build`).MatchString(text) {
		t.Errorf("the build stage is not FROM golang:1.26")
	}
	// The final stage holds only what `make images` assembles (checked
	// file by file by hack/images' TestDockerfileMatchesImage).
	if !regexp.MustCompile(`(?m)^FROM scratch$`).MatchString(text) {
		t.Errorf("the final stage is not FROM scratch")
	}
	builds := regexp.MustCompile(`CGO_ENABLED=0 go build [^&\n]*`).FindAllString(text, -1)
	if len(builds) != 2 {
		t.Fatalf("found %d go build commands in the Dockerfile, want 2 (herald, kubectl-herald): %q", len(builds), builds)
	}
	out := t.TempDir()
	for _, b := range builds {
		cmdline := strings.ReplaceAll(strings.ReplaceAll(b, "${VERSION}", "test"), "/out/", out+"/")
		cmd := exec.Command("sh", "-c", cmdline)
		cmd.Dir = root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", cmdline, err, stderr.String())
		}
	}
	for _, bin := range []string{"herald", "kubectl-herald"} {
		if _, err := os.Stat(filepath.Join(out, bin)); err != nil {
			t.Errorf("the Dockerfile's build made no %s: %v", bin, err)
		}
	}
	v, err := exec.Command(filepath.Join(out, "herald"), "version").CombinedOutput()
	if err != nil || !strings.Contains(string(v), "test") {
		t.Errorf("herald version = %q, %v; want the version stamped by -ldflags (test)", v, err)
	}
}
