package testpki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("%s holds no PEM certificate", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestIssue: a leaf verifies against the CA for its usage, with its own
// serial number, and its key is written 0600.
func TestIssue(t *testing.T) {
	dir := t.TempDir()
	ca, err := NewCA("test-ca", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteCert(filepath.Join(dir, "ca.crt")); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"a", "b"} {
		tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		if err := ca.Issue(filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"), tmpl); err != nil {
			t.Fatal(err)
		}
		leaf := readCert(t, filepath.Join(dir, name+".crt"))
		if leaf.SerialNumber.Int64() != int64(i+2) {
			t.Errorf("%s has serial %v, want %d", name, leaf.SerialNumber, i+2)
		}
		roots := x509.NewCertPool()
		roots.AddCert(readCert(t, filepath.Join(dir, "ca.crt")))
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("%s does not verify against the CA: %v", name, err)
		}
		st, err := os.Stat(filepath.Join(dir, name+".key"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s.key: %v, mode %v; want 0600", name, err, st.Mode().Perm())
		}
	}
}
