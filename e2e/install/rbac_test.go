package install

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/internal/testenv"
)

const ns = "herald-system"

// exempt are, per role, permissions the shipped roles grant that this
// test cannot make the binaries use, each with the path that does.
var exempt = map[string]map[string]string{
	"herald-controller": {
		"patch /services/status":     "statusWriter patches only after an update conflicts, or against an API server newer than herald's k8s.io/api",
		"patch events.k8s.io/events": "the event recorder patches only an event repeated within minutes (a series)",
		"patch /events":              "leader election's recorder patches only a \"became leader\" event repeated within minutes",
		"update /secrets":            "the admission webhook updates its certificate Secret only to renew certificates, weeks before they expire",
		"patch admissionregistration.k8s.io/validatingwebhookconfigurations": "the webhook patches the caBundle of a ValidatingWebhookConfiguration this test does not install",
	},
	"herald-speaker": {
		"create /events": "BGPSessionReset events, recorded only when an FRR apply reset BGP sessions (this test has no FRR)",
		"patch /events":  "the same event repeated within minutes",
	},
}

// TestRBAC installs config/rbac's roles in a real API server, makes tokens
// for the two ServiceAccounts, and runs the real `herald controller` and
// `herald speaker` binaries under them with the flags config/default ships
// (only addresses, the kubeconfig and the node name added). With the
// sample objects and a Service applied, it waits for the IP, the pool's,
// peers' and advertisements' status, the NodeState and the membership
// Secret; then it fails on any request the API server refused (its audit
// log), any "forbidden" in the binaries' logs, and any verb granted that
// neither binary used (least privilege). The speaker has no FRR behind it
// here: its applies fail and it is not ready, which its /readyz must say;
// the API calls, which are what RBAC is about, are all made.
func TestRBAC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server and both binaries")
	}
	root := testenv.ModuleRoot(t)
	assets := testenv.ControlPlane(t)
	herald := heraldBinary(t, root)
	dir, err := os.MkdirTemp("", "herald-rbac-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	policy, auditLog := filepath.Join(dir, "audit-policy.yaml"), filepath.Join(dir, "audit.log")
	if err := os.WriteFile(policy, []byte(AuditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets, CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd")},
		ErrorIfCRDPathMissing: true, ControlPlaneStartTimeout: 2 * time.Minute, ControlPlaneStopTimeout: time.Minute,
	}
	env.ControlPlane.GetAPIServer().Configure().Set("audit-policy-file", policy).Set("audit-log-path", auditLog)
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the test API server: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the test API server: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.New(cfg, client.Options{Scheme: apitest.Scheme(t)})
	if err != nil {
		t.Fatal(err)
	}
	kubectl := filepath.Join(assets, "kubectl")

	// The shipped roles, and the shipped flags.
	apitest.Namespace(t, c, ns)
	rbacObjs, err := Kustomize(kubectl, filepath.Join(root, "config", "rbac"))
	if err != nil {
		t.Fatal(err)
	}
	granted := map[string][]rbacv1.PolicyRule{}
	for _, o := range rbacObjs {
		if err := c.Patch(ctx, o, client.Apply, client.FieldOwner("herald-rbac-test"), client.ForceOwnership); err != nil {
			t.Fatalf("applying %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		if k := o.GetKind(); k == "ClusterRole" || k == "Role" {
			var r rbacv1.ClusterRole
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &r); err != nil {
				t.Fatal(err)
			}
			granted[o.GetName()] = append(granted[o.GetName()], r.Rules...)
		}
	}
	defaults, err := Kustomize(kubectl, filepath.Join(root, "config", "default"))
	if err != nil {
		t.Fatal(err)
	}
	controllerArgs := shippedArgs(t, defaults, "Deployment", "controller")
	speakerArgs := shippedArgs(t, defaults, "DaemonSet", "speaker")

	// The node the speaker runs on (its Ready condition and InternalIP).
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1", Labels: map[string]string{"kubernetes.io/hostname": "node1"}}}
	mustCreate(ctx, t, c, node)
	node.Status = corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}}
	if err := c.Status().Update(ctx, node); err != nil {
		t.Fatal(err)
	}

	cs := kubernetes.NewForConfigOrDie(cfg)
	kubeconfig := func(sa string) string {
		tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("a token for %s: %v", sa, err)
		}
		return writeKubeconfig(t, dir, sa, cfg, tok.Status.Token)
	}
	ctrlHealth, spkHealth := freePort(t), freePort(t)
	// The webhook on a free port of the loopback: this test runs beside others.
	controllerArgs = replaceFlag(controllerArgs, "--webhook-addr", "127.0.0.1:"+strconv.Itoa(freePortNum(t)))
	ctrlMetrics, spkMetrics := freePort(t), freePort(t)
	ctrl := start(t, herald, dir, "controller", append(replaceAddrs(controllerArgs, ctrlMetrics, ctrlHealth),
		"--kubeconfig="+kubeconfig("herald-controller")))
	spk := start(t, herald, dir, "speaker", append(replaceFlag(replaceAddrs(speakerArgs, spkMetrics, spkHealth),
		"--agent-socket", filepath.Join(dir, "no-agent.sock")),
		"--kubeconfig="+kubeconfig("herald-speaker"), "--node-name=node1",
		"--memberlist-bind-addr=127.0.0.1", "--memberlist-port="+strconv.Itoa(freePortNum(t))))

	// The sample objects, but Layer 2 limited to no node: this test must
	// not answer ARP on the host's own interfaces.
	samples, err := Kustomize(kubectl, filepath.Join(root, "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range samples {
		if o.GetKind() == "L2Advertisement" {
			_ = unstructured.SetNestedSlice(o.Object, []any{map[string]any{"matchLabels": map[string]any{"herald.test/none": "true"}}}, "spec", "nodeSelectors")
			unstructured.RemoveNestedField(o.Object, "spec", "interfaces")
		}
		mustCreate(ctx, t, c, o)
	}

	users := map[string]string{"herald-controller": "system:serviceaccount:herald-system:herald-controller",
		"herald-speaker": "system:serviceaccount:herald-system:herald-speaker"}
	// refused names the requests refused so far: a wait that times out
	// says why.
	refused := func() string {
		reqs, err := ReadAudit(auditLog)
		if err != nil {
			return err.Error()
		}
		var out []string
		for role, user := range users {
			if f := Forbidden(reqs, user); len(f) > 0 {
				out = append(out, fmt.Sprintf("%s was refused %q", role, f))
			}
		}
		return strings.Join(out, "; ")
	}

	// The work done under those identities.
	waitFor(ctx, t, "the Service's IP", func() (bool, error) {
		var svc corev1.Service
		err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "demo"}, &svc)
		return err == nil && len(svc.Status.LoadBalancer.Ingress) > 0, err
	}, refused)
	waitFor(ctx, t, "the membership Secret", func() (bool, error) {
		var s corev1.Secret
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "herald-memberlist"}, &s)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil && len(s.Data["key"]) == 32, err
	}, refused)
	waitFor(ctx, t, "node1's NodeState with the apply's outcome", func() (bool, error) {
		var st v1beta1.NodeState
		err := c.Get(ctx, client.ObjectKey{Name: "node1"}, &st)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil && st.Status.FRR != nil, err
	}, refused)
	waitFor(ctx, t, "the controller's /readyz (leader, caches synced)", func() (bool, error) {
		code, _ := get("http://127.0.0.1:" + strconv.Itoa(ctrlHealth) + "/readyz?verbose")
		return code == http.StatusOK, nil
	}, refused)
	// With no agent, the speaker is not ready and says why.
	code, body := get("http://127.0.0.1:" + strconv.Itoa(spkHealth) + "/readyz?verbose")
	if code == http.StatusOK || !strings.Contains(body, "frr-and-l2") {
		t.Errorf("speaker /readyz with no agent = %d %q, want not ready from its frr-and-l2 check", code, body)
	}

	// The metrics endpoints (--metrics-secure, as shipped) answer a token
	// bound to config/rbac's herald-metrics-reader, and nobody else: the
	// binaries' TokenReview and SubjectAccessReview rights are used here.
	scraper := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prometheus"}}
	mustCreate(ctx, t, c, scraper)
	mustCreate(ctx, t, c, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-herald"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "herald-metrics-reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "prometheus"}}})
	token := func(sa string) string {
		tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("a token for %s: %v", sa, err)
		}
		return tok.Status.Token
	}
	promToken, otherToken := token("prometheus"), token("herald-speaker")
	for _, m := range []struct {
		who  string
		port int
	}{{"controller", ctrlMetrics}, {"speaker", spkMetrics}} {
		url := "https://127.0.0.1:" + strconv.Itoa(m.port) + "/metrics"
		waitFor(ctx, t, m.who+"'s /metrics with Prometheus' token", func() (bool, error) {
			code, body := getWithToken(url, promToken)
			return code == http.StatusOK && strings.Contains(body, "herald_"), nil
		}, refused)
		if code, _ := getWithToken(url, ""); code != http.StatusUnauthorized {
			t.Errorf("%s's /metrics with no token = %d, want %d", m.who, code, http.StatusUnauthorized)
		}
		if code, _ := getWithToken(url, otherToken); code != http.StatusForbidden {
			t.Errorf("%s's /metrics with a token not bound to herald-metrics-reader = %d, want %d", m.who, code, http.StatusForbidden)
		}
		if code, _ := get(strings.Replace(url, "https:", "http:", 1)); code == http.StatusOK {
			t.Errorf("%s's /metrics answers plain HTTP", m.who)
		}
	}

	// Least privilege: every verb granted is used (the Lease's update, for
	// one, comes with the first renewal).
	var unused map[string][]string
	waitFor(ctx, t, "every granted verb used", func() (bool, error) {
		reqs, err := ReadAudit(auditLog)
		if err != nil {
			return false, err
		}
		unused = map[string][]string{}
		for role, rules := range granted {
			if u := Unused(Granted(rules), reqs, users[role], exempt[role]); len(u) > 0 {
				unused[role] = u
			}
		}
		return len(unused) == 0, nil
	}, func() string { return fmt.Sprintf("unused: %v", unused) }, refused)

	stop(t, ctrl)
	stop(t, spk)
	reqs, err := ReadAudit(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	for role, user := range users {
		if f := Forbidden(reqs, user); len(f) > 0 {
			t.Errorf("%s was refused: %q", role, f)
		}
	}
	for _, p := range []*proc{ctrl, spk} {
		if i := strings.Index(strings.ToLower(p.log()), "forbidden"); i >= 0 {
			t.Errorf("%s logged %q", p.name, excerpt(p.log(), i))
		}
	}
	if t.Failed() {
		t.Logf("controller log:\n%s\nspeaker log:\n%s", ctrl.log(), spk.log())
	}
}

func ptr[T any](v T) *T { return &v }

// heraldBinary is $HERALD_BIN (`make test` sets it to bin/herald), else a
// fresh build.
func heraldBinary(t *testing.T, root string) string {
	t.Helper()
	if b := os.Getenv("HERALD_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "herald")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/herald")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building herald: %v\n%s", err, b)
	}
	return out
}

// shippedArgs are the args of container in config/default's kind.
func shippedArgs(t *testing.T, objs []*unstructured.Unstructured, kind, container string) []string {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != kind {
			continue
		}
		cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		for _, c := range cs {
			m := c.(map[string]any)
			if m["name"] == container {
				var args []string
				for _, a := range m["args"].([]any) {
					args = append(args, a.(string))
				}
				return args
			}
		}
	}
	t.Fatalf("no container %s in config/default's %s", container, kind)
	return nil
}

// replaceAddrs points --metrics-addr and --health-addr at local ports.
func replaceAddrs(args []string, metrics, health int) []string {
	args = replaceFlag(args, "--metrics-addr", "127.0.0.1:"+strconv.Itoa(metrics))
	return replaceFlag(args, "--health-addr", "127.0.0.1:"+strconv.Itoa(health))
}

// replaceFlag gives flag the value v, keeping its place; added when absent.
func replaceFlag(args []string, flag, v string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if strings.HasPrefix(a, flag+"=") {
			out[i] = flag + "=" + v
			return out
		}
	}
	return append(out, flag+"="+v)
}

func freePortNum(t *testing.T) int { return freePort(t) }

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeKubeconfig(t *testing.T, dir, name string, cfg *rest.Config, token string) string {
	t.Helper()
	kc := map[string]any{
		"apiVersion": "v1", "kind": "Config", "current-context": name,
		"clusters": []any{map[string]any{"name": "test", "cluster": map[string]any{"server": cfg.Host, "certificate-authority-data": cfg.CAData}}},
		"users":    []any{map[string]any{"name": name, "user": map[string]any{"token": token}}},
		"contexts": []any{map[string]any{"name": name, "context": map[string]any{"cluster": "test", "user": name}}},
	}
	b, err := yaml.Marshal(kc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".kubeconfig")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// proc is a herald process and its output.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func start(t *testing.T, bin, dir, name string, args []string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), "POD_NAMESPACE="+ns, "KUBECONFIG=")
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Logf("started herald %s", strings.Join(args, " "))
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// stop sends SIGTERM and waits, at most 30s, for the process to end.
func stop(t *testing.T, p *proc) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%s exited: %v", p.name, err)
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("%s did not end within 30s of SIGTERM", p.name)
		<-p.done
	}
}

func mustCreate(ctx context.Context, t *testing.T, c client.Client, o client.Object) {
	t.Helper()
	if err := c.Create(ctx, o); err != nil {
		t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
	}
}

func get(url string) (int, string) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// getWithToken GETs url over HTTPS (the self-signed certificate of the
// metrics server is not checked) with token as the bearer, if any.
func getWithToken(url, token string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // a self-signed test server
	resp, err := (&http.Client{Timeout: 5 * time.Second, Transport: tr}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// waitFor polls cond every 250ms until it holds, fails or ctx ends; more,
// if given, adds to the failure message.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() (bool, error), more ...func() string) {
	t.Helper()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			msg := ""
			for _, m := range more {
				if s := m(); s != "" {
					msg += ": " + s
				}
			}
			t.Fatalf("timed out waiting for %s%s", what, msg)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func excerpt(s string, i int) string {
	lo, hi := max(0, i-200), min(len(s), i+200)
	return s[lo:hi]
}
