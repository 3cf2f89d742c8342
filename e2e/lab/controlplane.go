package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// etcdURL and peerURL are etcd's client and peer endpoints, on the lab's
// own management address so they collide with nothing else on the machine.
func etcdURL() string { return "http://" + MgmtAddr.String() + ":2379" }
func peerURL() string { return "http://" + MgmtAddr.String() + ":2380" }

// APIServerURL returns the lab API server's address.
func APIServerURL() string {
	return "https://" + MgmtAddr.String() + ":" + strconv.Itoa(APIServerPort)
}

func etcdArgs(bin, dir string) []string {
	return []string{
		bin, "--name", "herald-lab", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL(), "--advertise-client-urls", etcdURL(),
		"--listen-peer-urls", peerURL(), "--initial-advertise-peer-urls", peerURL(),
		"--initial-cluster", "herald-lab=" + peerURL(),
		"--log-level", "warn",
	}
}

func apiServerArgs(bin string, p pki) []string {
	cidrs := make([]string, len(ServiceCIDRs))
	for i, c := range ServiceCIDRs {
		cidrs[i] = c.String()
	}
	return []string{
		bin,
		"--etcd-servers", etcdURL(),
		"--bind-address", MgmtAddr.String(), "--advertise-address", MgmtAddr.String(),
		"--secure-port", strconv.Itoa(APIServerPort),
		"--cert-dir", p.dir,
		"--tls-cert-file", p.serverCert(), "--tls-private-key-file", p.serverKey(),
		"--client-ca-file", p.caCert(),
		"--service-account-issuer", APIServerURL(),
		"--service-account-key-file", p.saKey(), "--service-account-signing-key-file", p.saKey(),
		"--service-cluster-ip-range", strings.Join(cidrs, ","),
		"--authorization-mode", "RBAC",
		"--allow-privileged=true",
		"--disable-admission-plugins", "ServiceAccount",
		"--profiling=false",
		"-v", "1",
	}
}

// writeKubeconfig writes a kubeconfig for the admin user, with the
// certificates embedded, so it works from any namespace of the lab.
func writeKubeconfig(path string, p pki) error {
	ca, err := os.ReadFile(p.caCert())
	if err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	cert, err := os.ReadFile(p.adminCert())
	if err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	key, err := os.ReadFile(p.adminKey())
	if err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["herald-lab"] = &clientcmdapi.Cluster{Server: APIServerURL(), CertificateAuthorityData: ca}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts["herald-lab"] = &clientcmdapi.Context{Cluster: "herald-lab", AuthInfo: "admin"}
	cfg.CurrentContext = "herald-lab"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing the kubeconfig %s: %w", path, err)
	}
	return nil
}

// restConfig loads the lab's kubeconfig.
func restConfig(path string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("loading the lab kubeconfig %s: %w", path, err)
	}
	cfg.QPS = 200
	cfg.Burst = 400
	return cfg, nil
}

// waitAPIServer waits until the API server's /readyz answers ok.
func waitAPIServer(ctx context.Context, cs kubernetes.Interface, alive func() error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		reqCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(reqCtx)
		cancel()
		if err == nil && strings.TrimSpace(string(body)) == "ok" {
			return nil
		}
		last = err
		if err := alive(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the API server at %s (last: %v): %w", APIServerURL(), last, ctx.Err())
		case <-tick.C:
		}
	}
}

// installCRDs creates or updates every CustomResourceDefinition in the YAML
// files of dir and waits until they are established. A missing dir is not
// an error: the lab runs before the API exists.
func installCRDs(ctx context.Context, cfg *rest.Config, dir string) ([]string, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		return nil, nil
	}
	cs, err := apiextclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("installing CRDs: %w", err)
	}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return names, fmt.Errorf("installing CRDs: %w", err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---")) {
			if len(bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(doc), []byte("---")))) == 0 {
				continue
			}
			var meta metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				return names, fmt.Errorf("installing CRDs: %s document %d: %w", f, i+1, err)
			}
			if meta.Kind != "CustomResourceDefinition" {
				continue // kustomization.yaml and the like
			}
			var crd apiextv1.CustomResourceDefinition
			if err := yaml.UnmarshalStrict(doc, &crd); err != nil {
				return names, fmt.Errorf("installing CRDs: %s document %d: %w", f, i+1, err)
			}
			if err := applyCRD(ctx, cs, &crd); err != nil {
				return names, fmt.Errorf("installing CRDs: %s: %w", f, err)
			}
			names = append(names, crd.Name)
		}
	}
	for _, n := range names {
		if err := waitEstablished(ctx, cs, n); err != nil {
			return names, err
		}
	}
	return names, nil
}

func applyCRD(ctx context.Context, cs apiextclient.Interface, crd *apiextv1.CustomResourceDefinition) error {
	crds := cs.ApiextensionsV1().CustomResourceDefinitions()
	old, err := crds.Get(ctx, crd.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = crds.Create(ctx, crd, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	crd.ResourceVersion = old.ResourceVersion
	_, err = crds.Update(ctx, crd, metav1.UpdateOptions{})
	return err
}

func waitEstablished(ctx context.Context, cs apiextclient.Interface, name string) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		crd, err := cs.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			for _, c := range crd.Status.Conditions {
				if c.Type == apiextv1.Established && c.Status == apiextv1.ConditionTrue {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for CRD %s to be established: %w", name, ctx.Err())
		case <-tick.C:
		}
	}
}

// nodeObject returns the Kubernetes Node of lab node n.
func nodeObject(n Node) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: n.Name,
			Labels: map[string]string{
				corev1.LabelHostname:   n.Name,
				corev1.LabelOSStable:   "linux",
				"heraldlb.io/lab-node": "true",
			},
		},
	}
}

// nodeStatus is the status the lab gives node n: Ready, with its LAN
// addresses as InternalIPs.
func nodeStatus(n Node) corev1.NodeStatus {
	now := metav1.Now()
	return corev1.NodeStatus{
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.LAN4.String()},
			{Type: corev1.NodeInternalIP, Address: n.LAN6.String()},
			{Type: corev1.NodeHostName, Address: n.Name},
		},
		Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "HeraldLab",
			Message: "lab node in network namespace " + n.Netns, LastHeartbeatTime: now, LastTransitionTime: now,
		}},
	}
}

// ensureNodes creates the plan's Nodes (when missing) and sets their status.
func ensureNodes(ctx context.Context, cs kubernetes.Interface, p Plan) error {
	nodes := cs.CoreV1().Nodes()
	for _, n := range p.Nodes {
		obj, err := nodes.Get(ctx, n.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			obj, err = nodes.Create(ctx, nodeObject(n), metav1.CreateOptions{})
		}
		if err != nil {
			return fmt.Errorf("creating Node %s: %w", n.Name, err)
		}
		if ready(obj) {
			continue
		}
		obj.Status = nodeStatus(n)
		if _, err := nodes.UpdateStatus(ctx, obj, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("marking Node %s Ready: %w", n.Name, err)
		}
	}
	return nil
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue && len(n.Status.Addresses) > 0
		}
	}
	return false
}

// errDied says a process ended while the lab waited for it.
var errDied = errors.New("process exited")
