package main

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/heraldlb/herald/internal/testpki"
)

// writePKI writes a fresh CA (ECDSA P-256: cheap to make on every run), the
// API server's serving certificate, the kubelet's serving certificate, an
// admin client certificate (system:masters) that the harness and the node's
// own components use, the service-account signing key, and the admin
// kubeconfig pointing at the API server over the host link.
func writePKI(p paths) error {
	dir := p.pki()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	ca, err := testpki.NewCA("herald-e2e-node-ca", 24*time.Hour)
	if err != nil {
		return err
	}
	if err := ca.WriteCert(filepath.Join(dir, "ca.crt")); err != nil {
		return err
	}
	ips := func(s ...string) []net.IP {
		var out []net.IP
		for _, a := range s {
			out = append(out, net.ParseIP(a))
		}
		return out
	}
	leaves := []struct {
		name string
		tmpl *x509.Certificate
	}{
		{"apiserver", &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver"},
			DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			IPAddresses: ips(apiAddr, nodeLAN4, nodeLAN6, kubernetesIP, "127.0.0.1"),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}},
		{"kubelet", &x509.Certificate{
			Subject:     pkix.Name{CommonName: nodeName},
			DNSNames:    []string{nodeName},
			IPAddresses: ips(nodeLAN4, nodeLAN6, "127.0.0.1"),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}},
		{"admin", &x509.Certificate{
			Subject:     pkix.Name{CommonName: "herald-e2e-node-admin", Organization: []string{"system:masters"}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}},
	}
	for _, l := range leaves {
		if err := ca.Issue(filepath.Join(dir, l.name+".crt"), filepath.Join(dir, l.name+".key"), l.tmpl); err != nil {
			return err
		}
	}
	if err := testpki.NewKey(filepath.Join(dir, "sa.key")); err != nil {
		return err
	}
	return writeKubeconfig(p)
}

// writeKubeconfig writes the admin kubeconfig with the certificates
// embedded, for the harness (root namespace) and the node's components.
func writeKubeconfig(p paths) error {
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(p.pki(), name))
		if err != nil {
			return "", fmt.Errorf("writing the kubeconfig: %w", err)
		}
		return base64.StdEncoding.EncodeToString(b), nil
	}
	ca, err := read("ca.crt")
	if err != nil {
		return err
	}
	cert, err := read("admin.crt")
	if err != nil {
		return err
	}
	key, err := read("admin.key")
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: hnode
  cluster:
    server: https://%s:%d
    certificate-authority-data: %s
users:
- name: admin
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: hnode
  context:
    cluster: hnode
    user: admin
current-context: hnode
`, apiAddr, apiPort, ca, cert, key)
	if err := os.WriteFile(p.kubeconfig(), []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	return nil
}
