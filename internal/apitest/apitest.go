package apitest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	heraldv1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/testenv"
)

// Start starts etcd and kube-apiserver with herald's CRDs installed and
// returns a config and a client for them; both are stopped when the test
// ends. The client's scheme is Scheme(). The config has client-side rate
// limiting raised (QPS 1000, burst 2000), so tests and benchmarks measure
// the server, not the client's throttle.
func Start(t testing.TB) (*rest.Config, client.Client) {
	t.Helper()
	env := &envtest.Environment{
		BinaryAssetsDirectory:    testenv.ControlPlane(t),
		CRDDirectoryPaths:        []string{CRDDir(t)},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the test API server (etcd, kube-apiserver from %s): %v", env.BinaryAssetsDirectory, err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the test API server: %v", err)
		}
	})
	cfg.QPS, cfg.Burst = 1000, 2000
	c, err := client.New(cfg, client.Options{Scheme: Scheme(t)})
	if err != nil {
		t.Fatalf("making a client for the test API server: %v", err)
	}
	return cfg, c
}

// Scheme returns a new scheme holding client-go's built-in types and
// herald's api/v1beta1.
func Scheme(t testing.TB) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatalf("registering client-go's types: %v", err)
	}
	if err := heraldv1beta1.AddToScheme(s); err != nil {
		t.Fatalf("registering herald's api/v1beta1: %v", err)
	}
	return s
}

// CRDDir returns the folder holding herald's generated CRDs (config/crd).
func CRDDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(testenv.ModuleRoot(t), "config", "crd")
}

// Namespace creates the namespace name (herald's own is "herald-system")
// unless it exists already.
func Namespace(t testing.TB, c client.Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}
