package lab

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/heraldlb/herald/internal/testpki"
)

// pki holds the paths of the control plane's certificates and keys.
type pki struct {
	dir string
}

func (p pki) path(name string) string { return filepath.Join(p.dir, name) }

// CA, serving and client certificate files, and the service-account key.
func (p pki) caCert() string     { return p.path("ca.crt") }
func (p pki) serverCert() string { return p.path("apiserver.crt") }
func (p pki) serverKey() string  { return p.path("apiserver.key") }
func (p pki) adminCert() string  { return p.path("admin.crt") }
func (p pki) adminKey() string   { return p.path("admin.key") }
func (p pki) saKey() string      { return p.path("sa.key") }

// ensure writes a CA, a serving certificate for the API server (MgmtAddr,
// 127.0.0.1, kubernetes.default...), an admin client certificate in group
// system:masters and a service-account signing key, unless they exist.
func (p pki) ensure() error {
	if _, err := os.Stat(p.saKey()); err == nil {
		return nil
	}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", p.dir, err)
	}
	ca, err := testpki.NewCA("herald-lab-ca", 10*365*24*time.Hour)
	if err != nil {
		return err
	}
	if err := ca.WriteCert(p.caCert()); err != nil {
		return err
	}
	if err := ca.Issue(p.serverCert(), p.serverKey(), &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses: []net.IP{MgmtAddr.AsSlice(), net.IPv4(127, 0, 0, 1), ServiceCIDRs[0].Addr().Next().AsSlice()},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return err
	}
	if err := ca.Issue(p.adminCert(), p.adminKey(), &x509.Certificate{
		Subject:     pkix.Name{CommonName: "herald-lab-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return err
	}
	return testpki.NewKey(p.saKey()) // last: its presence means all exist
}
