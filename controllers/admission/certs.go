package admission

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"
)

// Keys of the certificate Secret.
const (
	// SecretCAKey holds the CA certificates the webhook configuration
	// trusts, PEM: the current CA first, then the previous one while
	// certificates it signed may still be served.
	SecretCAKey = "ca.crt"
	// SecretCAPrivateKey is the current CA's private key.
	SecretCAPrivateKey = "ca.key"
	// SecretCertKey and SecretKeyKey are the serving certificate and key.
	SecretCertKey = "tls.crt"
	SecretKeyKey  = "tls.key"
)

// Lifetimes of what herald makes; each is renewed when a third of its
// lifetime remains.
const (
	CALifetime      = 5 * 365 * 24 * time.Hour
	ServingLifetime = 90 * 24 * time.Hour
)

// Bundle is the content of the certificate Secret.
type Bundle struct {
	// CA is the current CA certificate and key (PEM).
	CACert, CAKey []byte
	// PreviousCA is the CA certificate rotated out, kept in the trust
	// bundle until it expires (PEM), or nil.
	PreviousCA []byte
	// Cert and Key are the serving certificate and key (PEM).
	Cert, Key []byte
}

// FromSecretData reads a Bundle from a Secret's data.
func FromSecretData(data map[string][]byte) Bundle {
	b := Bundle{CAKey: data[SecretCAPrivateKey], Cert: data[SecretCertKey], Key: data[SecretKeyKey]}
	certs := pemBlocks(data[SecretCAKey])
	if len(certs) > 0 {
		b.CACert = certs[0]
	}
	if len(certs) > 1 {
		b.PreviousCA = certs[1]
	}
	return b
}

// SecretData is the Secret's data for b.
func (b Bundle) SecretData() map[string][]byte {
	return map[string][]byte{SecretCAKey: b.CABundle(), SecretCAPrivateKey: b.CAKey, SecretCertKey: b.Cert, SecretKeyKey: b.Key}
}

// CABundle is what the webhook configuration trusts: the current CA, then
// the previous one.
func (b Bundle) CABundle() []byte {
	return append(slices.Clone(b.CACert), b.PreviousCA...)
}

// Renew returns the bundle to keep at time now for a server answering to
// hosts (DNS names or IP addresses), and whether it differs from b: a new
// CA when b has none that parses or a third of its lifetime remains (the
// old one is kept as PreviousCA while unexpired), a new serving
// certificate when the CA changed, the certificate does not parse, is not
// signed by the CA, does not name every host, or a third of its lifetime
// remains.
func (b Bundle) Renew(now time.Time, hosts []string) (Bundle, bool, error) {
	out := b
	changed := false
	ca, caKey, err := parseCA(b.CACert, b.CAKey)
	if err != nil || renewDue(ca, now) {
		if ca != nil && now.Before(ca.NotAfter) {
			out.PreviousCA = b.CACert
		} else {
			out.PreviousCA = nil
		}
		if out.CACert, out.CAKey, err = newCA(now); err != nil {
			return b, false, err
		}
		if ca, caKey, err = parseCA(out.CACert, out.CAKey); err != nil {
			return b, false, err
		}
		changed = true
	}
	if out.PreviousCA != nil {
		if prev, err := parseCert(out.PreviousCA); err != nil || !now.Before(prev.NotAfter) {
			out.PreviousCA, changed = nil, true
		}
	}
	if changed || !servingOK(out.Cert, out.Key, ca, now, hosts) {
		if out.Cert, out.Key, err = newServing(ca, caKey, now, hosts); err != nil {
			return b, false, err
		}
		changed = true
	}
	return out, changed, nil
}

// renewDue says whether a third or less of c's lifetime remains at now.
func renewDue(c *x509.Certificate, now time.Time) bool {
	life := c.NotAfter.Sub(c.NotBefore)
	return c.NotAfter.Sub(now) < life/3
}

func servingOK(certPEM, keyPEM []byte, ca *x509.Certificate, now time.Time, hosts []string) bool {
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return false
	}
	c, err := parseCert(certPEM)
	if err != nil || renewDue(c, now) || now.Before(c.NotBefore) {
		return false
	}
	if err := c.CheckSignatureFrom(ca); err != nil {
		return false
	}
	for _, h := range hosts {
		if c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func newCA(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("making the webhook CA's key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("herald-webhook-ca@%d", now.Unix())},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing the webhook CA: %w", err)
	}
	return encode(der, key)
}

func newServing(ca *x509.Certificate, caKey any, now time.Time, hosts []string) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("making the webhook's serving certificate: no host name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("making the webhook's serving key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ServingLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("signing the webhook's serving certificate: %w", err)
	}
	return encode(der, key)
}

func encode(der []byte, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding a key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on Linux; a fixed serial is still a
		// valid certificate.
		return big.NewInt(1)
	}
	return n
}

func parseCert(p []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(p)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

func parseCA(certPEM, keyPEM []byte) (*x509.Certificate, any, error) {
	c, err := parseCert(certPEM)
	if err != nil {
		return nil, nil, err
	}
	if !c.IsCA {
		return nil, nil, errors.New("not a CA")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return c, nil, err
	}
	return c, pair.PrivateKey, nil
}

// pemBlocks splits concatenated PEM certificates, each re-encoded.
func pemBlocks(p []byte) [][]byte {
	var out [][]byte
	for {
		var blk *pem.Block
		blk, p = pem.Decode(p)
		if blk == nil {
			return out
		}
		out = append(out, pem.EncodeToMemory(blk))
	}
}
