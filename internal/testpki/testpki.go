// Package testpki makes the certificates and keys of a control plane that
// herald's lab and real-node e2e run: a CA (ECDSA P-256, cheap to make on
// every run), certificates it signs, and PEM files of them. It is for test
// control planes only: keys are written unencrypted, mode 0600.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"time"
)

// CA signs the certificates of one control plane.
type CA struct {
	cert   *x509.Certificate
	der    []byte
	key    *ecdsa.PrivateKey
	life   time.Duration
	serial int64
}

// NewCA makes a CA named name whose certificates (its own included) are
// valid from an hour ago for life.
func NewCA(name string, life time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the key of CA %s: %w", name, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(life),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("signing CA %s: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing CA %s: %w", name, err)
	}
	return &CA{cert: cert, der: der, key: key, life: life, serial: 1}, nil
}

// WriteCert writes the CA's certificate to path.
func (c *CA) WriteCert(path string) error { return WritePEM(path, "CERTIFICATE", c.der) }

// Issue signs a certificate for a new key: tmpl gives its subject, names
// and extended key usages; Issue sets its serial number, validity and key
// usage (digital signature). It writes the certificate to certPath and the
// key to keyPath.
func (c *CA) Issue(certPath, keyPath string, tmpl *x509.Certificate) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generating a key for %s: %w", certPath, err)
	}
	c.serial++
	now := time.Now()
	tmpl.SerialNumber = big.NewInt(c.serial)
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(c.life)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return fmt.Errorf("signing %s: %w", certPath, err)
	}
	if err := WritePEM(certPath, "CERTIFICATE", der); err != nil {
		return err
	}
	return WriteKey(keyPath, key)
}

// NewKey writes a new ECDSA P-256 key to path (a service-account signing
// key, say).
func NewKey(path string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generating %s: %w", path, err)
	}
	return WriteKey(path, key)
}

// WriteKey writes key to path in PEM, mode 0600.
func WriteKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return WritePEM(path, "EC PRIVATE KEY", der)
}

// WritePEM writes der to path as one PEM block of type typ, mode 0600.
func WritePEM(path, typ string, der []byte) error {
	b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
