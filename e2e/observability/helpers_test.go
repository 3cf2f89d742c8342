package observability

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/heraldlb/herald/e2e/lab"
)

// applyYAML applies one manifest to the lab's API server.
func applyYAML(t *testing.T, ctx context.Context, kubectl string, l *lab.Lab, manifest string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", l.Kubeconfig(), "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s\n%s", err, out, manifest)
	}
}
