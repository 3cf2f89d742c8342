package v1beta1_test

import (
	"bytes"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/testenv"
)

// readSamples decodes every object of every YAML file in config/samples
// but the kustomization.
func readSamples(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	dir := filepath.Join(testenv.ModuleRoot(t), "config", "samples")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("listing %s: %v (%d files)", dir, err, len(files))
	}
	var out []*unstructured.Unstructured
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("decoding %s: %v", f, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			u.SetAnnotations(mergeAnnotation(u.GetAnnotations(), "herald.test/sample-file", filepath.Base(f)))
			out = append(out, u)
		}
	}
	return out
}

func mergeAnnotation(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

// testSamples creates every sample for real, then checks that the kinds
// the brief lists are all there.
func testSamples(t *testing.T, c client.Client) {
	kinds := map[string]int{}
	for _, u := range readSamples(t) {
		if err := c.Create(ctxFor(t), u); err != nil {
			t.Errorf("sample %s %s/%s from %s was refused: %v", u.GetKind(), u.GetNamespace(), u.GetName(), u.GetAnnotations()["herald.test/sample-file"], err)
			continue
		}
		kinds[u.GetKind()]++
	}
	for kind, min := range map[string]int{"IPAddressPool": 1, "BFDProfile": 1, "BGPPeer": 3, "Community": 1, "BGPAdvertisement": 1, "L2Advertisement": 1, "Service": 1} {
		if kinds[kind] < min {
			t.Errorf("config/samples: %d %s accepted, want at least %d", kinds[kind], kind, min)
		}
	}
}

// TestKustomizations builds config/crd and config/samples with kubectl's
// kustomize and checks they hold exactly the generated CRDs and the sample
// files' objects, so `kubectl apply -k` installs what the tests check.
func TestKustomizations(t *testing.T) {
	kubectl := filepath.Join(testenv.ControlPlane(t), "kubectl")
	root := testenv.ModuleRoot(t)
	build := func(dir string) []string {
		t.Helper()
		out, err := exec.Command(kubectl, "kustomize", filepath.Join(root, dir)).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, out)
		}
		var ids []string
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("decoding kustomize output of %s: %v", dir, err)
			}
			ids = append(ids, u.GetKind()+" "+u.GetNamespace()+"/"+u.GetName())
		}
		sort.Strings(ids)
		return ids
	}

	var want []string
	for _, u := range readSamples(t) {
		want = append(want, u.GetKind()+" "+u.GetNamespace()+"/"+u.GetName())
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, build("config/samples")); diff != "" {
		t.Errorf("config/samples/kustomization.yaml builds other objects than the sample files hold (-files +kustomize):\n%s", diff)
	}

	crds, err := filepath.Glob(filepath.Join(root, "config", "crd", "heraldlb.io_*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := build("config/crd"); len(got) != len(crds) {
		t.Errorf("config/crd/kustomization.yaml builds %d objects, want the %d CRDs: %v", len(got), len(crds), got)
	}
}

// kubeconfig writes a kubeconfig for cfg and returns its path.
func kubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["test"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	kc.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatalf("writing kubeconfig: %v", err)
	}
	return path
}

// testPrinterColumns runs the real kubectl against the objects the samples
// made, with a pool status written through SetCounts, and checks the
// columns an operator sees.
func testPrinterColumns(t *testing.T, cfg *rest.Config, c client.Client) {
	ctx := ctxFor(t)
	var pool v1beta1.IPAddressPool
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "lab"}, &pool); err != nil {
		t.Fatalf("reading the sample pool (the Samples subtest creates it): %v", err)
	}
	v6 := new(big.Int).Lsh(big.NewInt(1), 64)
	pool.Status.SetCounts(v1beta1.PoolCounts{
		AssignedIPv4: big.NewInt(1), AvailableIPv4: big.NewInt(93),
		AssignedIPv6: big.NewInt(1), AvailableIPv6: v6.Sub(v6, big.NewInt(1)),
	})
	if err := c.Status().Update(ctx, &pool); err != nil {
		t.Fatalf("writing the pool status: %v", err)
	}

	kc := kubeconfig(t, cfg)
	kubectl := filepath.Join(testenv.ControlPlane(t), "kubectl")
	for _, tc := range []struct {
		name string
		args []string
		want []string // header cells and values, in order on their lines
	}{
		{"pools", []string{"get", "ipaddresspools", "-n", ns, "lab"},
			[]string{"NAME", "ADDRESSES", "AUTO ASSIGN", "ASSIGNED", "AVAILABLE", "lab", "192.0.2.0/26", "true", "1 v4, 1 v6", "93 v4, 18446744073709551615 v6"}},
		{"peers", []string{"get", "bgppeers", "-n", ns, "router-node2"},
			[]string{"NAME", "PEER ADDRESS", "MY ASN", "PEER ASN", "BFD PROFILE", "router-node2", "198.51.100.1", "64512", "64500", "fast"}},
		{"bfd", []string{"get", "bfdprofiles", "-n", ns, "fast"},
			[]string{"NAME", "RECEIVE", "TRANSMIT", "MULTIPLIER", "fast", "50", "50", "3"}},
		{"node states", []string{"get", "nodestates", "node1"},
			[]string{"NAME", "FRR GENERATION", "FRR RESULT", "SESSIONS UP", "node1", "7", "Applied", "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", kc}, tc.args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("kubectl %s: %v\n%s", strings.Join(tc.args, " "), err, out)
			}
			rest := string(out)
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("kubectl %s: %q missing (or out of order) in:\n%s", strings.Join(tc.args, " "), w, out)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
