package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/internal/testenv"
)

func TestServiceKey(t *testing.T) {
	for _, tc := range []struct {
		name, arg, flagNS, ctxNS, want, wantErr string
	}{
		{name: "namespace/name", arg: "web/frontend", want: "web/frontend"},
		{name: "svc/name with -n", arg: "svc/frontend", flagNS: "web", want: "web/frontend"},
		{name: "service/name in the context's namespace", arg: "service/frontend", ctxNS: "shop", want: "shop/frontend"},
		{name: "bare name, -n wins over the context", arg: "frontend", flagNS: "web", ctxNS: "shop", want: "web/frontend"},
		{name: "bare name, no namespace anywhere", arg: "frontend", want: "default/frontend"},
		{name: "namespace/name agreeing with -n", arg: "web/frontend", flagNS: "web", want: "web/frontend"},
		{name: "namespace/name against -n", arg: "web/frontend", flagNS: "shop", wantErr: "-n says shop"},
		{name: "too many slashes", arg: "a/b/c", wantErr: "want NAMESPACE/NAME"},
		{name: "empty name", arg: "svc/", wantErr: "want NAMESPACE/NAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := serviceKey(tc.arg, tc.flagNS, tc.ctxNS)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("serviceKey(%q) = %q, %v; want an error containing %q", tc.arg, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("serviceKey(%q, %q, %q) = %q, %v; want %q", tc.arg, tc.flagNS, tc.ctxNS, got, err, tc.want)
			}
		})
	}
}

func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(testenv.ModuleRoot(t), "kubectlplugin", "testdata", "migrate", "full.yaml")
	bad := filepath.Join(testenv.ModuleRoot(t), "kubectlplugin", "testdata", "migrate", "problems.yaml")
	for _, tc := range []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout string // substring; "" means empty
		wantStderr string
		wantFile   string // substring of the -o file; "" means no file
	}{
		{name: "converts to stdout", args: []string{"-f", good}, wantCode: 0, wantStdout: "kind: BGPPeer", wantStderr: "converted 8 object(s)"},
		{name: "to a file in another namespace", args: []string{"-f", good, "-o", filepath.Join(dir, "a.yaml"), "--namespace", "lb"},
			wantStderr: "namespace lb", wantFile: "namespace: lb"},
		{name: "from stdin", args: []string{"-f", "-"}, stdin: "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: x}\n",
			wantStdout: "kind: L2Advertisement"},
		{name: "partial input writes nothing and fails", args: []string{"-f", bad, "-o", filepath.Join(dir, "b.yaml")}, wantCode: 1,
			wantStderr: "not converted: BGPPeer metallb-system/legacy: spec.password"},
		{name: "allow-partial writes what converted", args: []string{"-f", bad, "-o", filepath.Join(dir, "c.yaml"), "--allow-partial"},
			wantStderr: "not converted: AddressPool metallb-system/weird: spec.protocol", wantFile: "name: old"},
		{name: "no file", args: nil, wantCode: 2, wantStderr: "want -f FILE"},
		{name: "missing file", args: []string{"-f", filepath.Join(dir, "none.yaml")}, wantCode: 1, wantStderr: "none.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"migrate"}, tc.args...), strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			if tc.wantStdout == "" && stdout.Len() > 0 || !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout:\n%s\nwant it to contain %q", stdout.String(), tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", stderr.String(), tc.wantStderr)
			}
			if strings.Contains(stdout.String()+stderr.String(), "s3cret") {
				t.Errorf("the plain password of the input was printed")
			}
			for i, a := range tc.args {
				if a != "-o" {
					continue
				}
				data, err := os.ReadFile(tc.args[i+1])
				switch {
				case tc.wantFile == "" && err == nil:
					t.Errorf("%s was written:\n%s", tc.args[i+1], data)
				case tc.wantFile != "" && (err != nil || !strings.Contains(string(data), tc.wantFile)):
					t.Errorf("%s: %v\n%s\nwant it to contain %q", tc.args[i+1], err, data, tc.wantFile)
				}
			}
		})
	}
}

// TestClusterCommandsThroughKubeconfig runs the plugin as kubectl would,
// with a kubeconfig file of two contexts against a real API server: the
// context's namespace and --context decide where `why NAME` looks.
func TestClusterCommandsThroughKubeconfig(t *testing.T) {
	cfg, c := apitest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	apitest.Namespace(t, c, "herald-system")
	apitest.Namespace(t, c, "shop")
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 443, Protocol: corev1.ProtocolTCP}}}}
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	svc.Status.Conditions = []metav1.Condition{{Type: "heraldlb.io/IPAllocated", Status: metav1.ConditionFalse, Reason: "PoolExhausted",
		Message: "every pool is full", LastTransitionTime: metav1.Now()}}
	if err := c.Status().Update(ctx, svc); err != nil {
		t.Fatal(err)
	}

	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["elsewhere"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "admin", Namespace: "default"}
	kc.Contexts["shop"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "admin", Namespace: "shop"}
	kc.CurrentContext = "elsewhere"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	pool := "apiVersion: heraldlb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: shop}\nspec: {addresses: [192.0.2.16/28]}\n"
	if err := os.WriteFile(filepath.Join(dir, "pool.yaml"), []byte(pool), 0o644); err != nil {
		t.Fatal(err)
	}
	unused := "apiVersion: heraldlb.io/v1beta1\nkind: Community\nmetadata: {name: unused}\nspec: {communities: [{name: x, value: \"64512:1\"}]}\n"

	for _, tc := range []struct {
		name       string
		args       []string
		stdin      string
		env        string // KUBECONFIG, when not passed by flag
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "status", args: []string{"status", "--kubeconfig", path}, wantStdout: "shop/cart  <pending>"},
		{name: "status through KUBECONFIG", args: []string{"status"}, env: path, wantStdout: "False (PoolExhausted)"},
		{name: "why in the context's namespace", args: []string{"why", "cart", "--kubeconfig", path, "--context", "shop"},
			wantStdout: "heraldlb.io/IPAllocated: False, reason PoolExhausted"},
		{name: "why svc/NAME -n", args: []string{"why", "svc/cart", "-n", "shop", "--kubeconfig", path},
			wantStdout: "every pool is full"},
		{name: "why in the wrong namespace", args: []string{"why", "cart", "--kubeconfig", path}, wantCode: 1,
			wantStderr: "reading Service default/cart"},
		{name: "diff of an unknown node", args: []string{"diff", "node9", "--kubeconfig", path}, wantCode: 1, wantStderr: "node9"},
		{name: "unknown command", args: []string{"frob"}, wantCode: 1, wantStderr: "unknown command"},
		{name: "diff -f: a change", args: []string{"diff", "-f", filepath.Join(dir, "pool.yaml"), "--kubeconfig", path}, wantCode: 1,
			wantStdout: "shop/cart                      none → 192.0.2.16  allocated from pool [shop]"},
		{name: "diff -f directory -o json", args: []string{"diff", "-f", dir, "-o", "json", "--kubeconfig", path}, wantCode: 1,
			wantStdout: `"changed": true`},
		{name: "diff -f - (stdin): no change", args: []string{"diff", "-f", "-", "--kubeconfig", path}, stdin: unused,
			wantStdout: "No change"},
		{name: "diff -f missing file", args: []string{"diff", "-f", filepath.Join(dir, "nope.yaml"), "--kubeconfig", path}, wantCode: 2,
			wantStderr: "nope.yaml"},
		{name: "diff -f -o yaml", args: []string{"diff", "-f", dir, "-o", "yaml", "--kubeconfig", path}, wantCode: 2,
			wantStderr: "-o yaml: want json"},
		{name: "drill of a pending Service is refused", args: []string{"drill", "svc/cart", "-n", "shop", "--dry-run", "--kubeconfig", path}, wantCode: 1,
			wantStderr: "drill refused: Service shop/cart: no IP in status.loadBalancer.ingress"},
		{name: "drill in the context's namespace", args: []string{"drill", "cart", "--context", "shop", "--kubeconfig", path}, wantCode: 1,
			wantStderr: "Service shop/cart: no IP"},
		{name: "drill of nothing", args: []string{"drill", "--kubeconfig", path}, wantCode: 1, wantStderr: "want one Service"},
		{name: "drill of a missing Service", args: []string{"drill", "shop/nope", "--kubeconfig", path}, wantCode: 1, wantStderr: "Service shop/nope not found"},
		{name: "diff --delete of nothing", args: []string{"diff", "--delete", "bgppeer/nope", "--kubeconfig", path}, wantCode: 2,
			wantStderr: "no BGPPeer herald-system/nope to delete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tc.env)
			var stdout, stderr bytes.Buffer
			code := run(ctx, tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout:\n%s\nwant it to contain %q", stdout.String(), tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}
