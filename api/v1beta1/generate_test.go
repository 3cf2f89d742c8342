package v1beta1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/heraldlb/herald/internal/testenv"
)

// TestGeneratedFilesAreFresh runs the pinned controller-gen (`go tool
// controller-gen`, the version in go.mod) into a temporary folder and fails
// when the committed deepcopy code or CRDs differ from what it makes, or
// when config/crd/kustomization.yaml does not list every CRD.
func TestGeneratedFilesAreFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short mode: builds and runs controller-gen")
	}
	root := testenv.ModuleRoot(t)
	tmp := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("go", append([]string{"tool", "controller-gen"}, args...)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go tool controller-gen %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("object", "paths=./api/...", "output:object:dir="+filepath.Join(tmp, "object"))
	run("crd", "paths=./api/...", "output:crd:dir="+filepath.Join(tmp, "crd"))

	same := func(generated, committed string) {
		t.Helper()
		want, err := os.ReadFile(generated)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, committed)
		got, err := os.ReadFile(committed)
		switch {
		case err != nil:
			t.Errorf("%s is missing (%v): run make generate and commit the result", rel, err)
		case !bytes.Equal(want, got):
			t.Errorf("%s is stale: run make generate and commit the result", rel)
		}
	}
	same(filepath.Join(tmp, "object", "zz_generated.deepcopy.go"), filepath.Join(root, "api", "v1beta1", "zz_generated.deepcopy.go"))

	generated, err := filepath.Glob(filepath.Join(tmp, "crd", "*.yaml"))
	if err != nil || len(generated) == 0 {
		t.Fatalf("controller-gen made no CRDs in %s: %v", tmp, err)
	}
	var names []string
	for _, g := range generated {
		names = append(names, filepath.Base(g))
		same(g, filepath.Join(root, "config", "crd", filepath.Base(g)))
	}
	committed, _ := filepath.Glob(filepath.Join(root, "config", "crd", "heraldlb.io_*.yaml"))
	if len(committed) != len(generated) {
		t.Errorf("config/crd holds %d CRDs, controller-gen makes %d (%v): run make generate and remove the extra files", len(committed), len(generated), names)
	}

	var kust struct {
		Resources []string `json:"resources"`
	}
	data, err := os.ReadFile(filepath.Join(root, "config", "crd", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &kust); err != nil {
		t.Fatalf("config/crd/kustomization.yaml: %v", err)
	}
	listed := map[string]bool{}
	for _, r := range kust.Resources {
		listed[r] = true
	}
	for _, n := range names {
		if !listed[n] {
			t.Errorf("config/crd/kustomization.yaml does not list %s: add it to resources", n)
		}
	}
}
