package v1beta1_test

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heraldlb/herald/internal/apitest"
)

// ns is herald's namespace, where its namespaced kinds live.
const ns = "herald-system"

// TestAPIServer runs every test that needs the real kube-apiserver against
// one instance with herald's generated CRDs installed: admission (rejections
// and defaults), agreement with ipam's parser, the samples and kubectl's
// printer columns.
func TestAPIServer(t *testing.T) {
	cfg, c := apitest.Start(t)
	apitest.Namespace(t, c, ns)
	t.Run("Rejected", func(t *testing.T) { testRejected(t, c) })
	t.Run("AcceptedWithDefaults", func(t *testing.T) { testAcceptedWithDefaults(t, c) })
	t.Run("AddressesAgreeWithIPAM", func(t *testing.T) { testAddressesAgreeWithIPAM(t, c) })
	t.Run("Samples", func(t *testing.T) { testSamples(t, c) })
	t.Run("PrinterColumns", func(t *testing.T) { testPrinterColumns(t, cfg, c) })
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var _ client.Client // the subtests take the client Start returns
