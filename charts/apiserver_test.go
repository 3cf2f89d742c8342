package charts

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heraldlb/herald/internal/apitest"
)

// TestValueSetsAcceptedByAPIServer sends every object the chart renders,
// with several value sets, to a real API server (with herald's CRDs) as a
// server-side apply in dry-run mode: schema, defaults and validation all
// run, so a value set that renders an invalid pod spec fails here.
func TestValueSetsAcceptedByAPIServer(t *testing.T) {
	sets := []struct {
		name string
		args []string
	}{
		{name: "default values", args: []string{"--set", "namespace.create=true"}},
		{name: "BGP off", args: []string{"--set", "bgp.enabled=false"}},
		{name: "L2 off, a class, debug logs", args: []string{"--set", "l2.enabled=false", "--set", "loadBalancerClass=heraldlb.io/bgp", "--set", "logLevel=debug"}},
		{name: "upstream FRR image", args: []string{"--values", "charts/herald/ci/upstream-frr-values.yaml"}},
		{name: "scheduling and secrets", args: []string{
			"--set", "controller.replicas=3", "--set", "speaker.nodeSelector.role=edge",
			"--set", "speaker.tolerations[0].operator=Exists", "--set", "imagePullSecrets[0].name=regcred",
			"--set", "l2.membership.existingSecret=my-key", "--set", "image.pullPolicy=Always",
		}},
	}
	_, c := apitest.Start(t)
	apitest.Namespace(t, c, namespace)
	ctx := context.Background()
	for _, tc := range sets {
		t.Run(tc.name, func(t *testing.T) {
			objs := mustHelmTemplate(t, tc.args...)
			if len(objs) == 0 {
				t.Fatal("the chart rendered nothing")
			}
			for _, o := range objs {
				err := c.Patch(ctx, o, client.Apply, client.DryRunAll, client.FieldOwner("herald-chart-test"), client.ForceOwnership)
				if err != nil {
					t.Errorf("%s rejected: %v", key(o), err)
				}
			}
		})
	}
}
