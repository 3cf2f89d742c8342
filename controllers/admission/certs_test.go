package admission

import (
	"crypto/x509"
	"testing"
	"time"
)

// TestRenew walks a Bundle through its life: made from nothing, kept while
// fresh, the serving certificate renewed with a third of its life left or
// for a new host, the CA renewed with a third of its life left while the old
// one stays trusted until it expires.
func TestRenew(t *testing.T) {
	hosts := []string{"herald-webhook.herald-system.svc", "127.0.0.1"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b, changed, err := Bundle{}.Renew(t0, hosts)
	if err != nil || !changed {
		t.Fatalf("first Renew: changed %v, %v; want a new bundle", changed, err)
	}
	if !servingOK(b.Cert, b.Key, mustCA(t, b), t0, hosts) {
		t.Fatal("the new serving certificate does not verify for its hosts")
	}
	// Round trip through the Secret's data.
	b = FromSecretData(b.SecretData())

	steps := []struct {
		name                      string
		at                        time.Time
		hosts                     []string
		wantChanged, wantNewCA    bool
		wantPrevious, wantServing bool
	}{
		{name: "fresh: kept", at: t0.Add(24 * time.Hour), hosts: hosts},
		{name: "serving cert two thirds through: renewed", at: t0.Add(61 * 24 * time.Hour), hosts: hosts, wantChanged: true, wantServing: true},
		{name: "a new host: renewed", at: t0.Add(62 * 24 * time.Hour), hosts: append(hosts, "herald-webhook.herald-system.svc.cluster.local"), wantChanged: true, wantServing: true},
		{name: "CA two thirds through: new CA, old one still trusted", at: t0.Add(CALifetime * 2 / 3).Add(48 * time.Hour), hosts: hosts, wantChanged: true, wantNewCA: true, wantPrevious: true, wantServing: true},
	}
	for _, s := range steps {
		nb, changed, err := b.Renew(s.at, s.hosts)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if changed != s.wantChanged {
			t.Errorf("%s: changed = %v, want %v", s.name, changed, s.wantChanged)
		}
		if newCA := string(nb.CACert) != string(b.CACert); newCA != s.wantNewCA {
			t.Errorf("%s: new CA = %v, want %v", s.name, newCA, s.wantNewCA)
		}
		if prev := string(nb.PreviousCA) == string(b.CACert) && nb.PreviousCA != nil; prev != s.wantPrevious {
			t.Errorf("%s: old CA kept as previous = %v, want %v", s.name, prev, s.wantPrevious)
		}
		if serving := string(nb.Cert) != string(b.Cert); serving != s.wantServing {
			t.Errorf("%s: new serving certificate = %v, want %v", s.name, serving, s.wantServing)
		}
		if !servingOK(nb.Cert, nb.Key, mustCA(t, nb), s.at, s.hosts) {
			t.Errorf("%s: the serving certificate does not verify", s.name)
		}
		if s.wantPrevious && len(pemBlocks(nb.CABundle())) != 2 {
			t.Errorf("%s: caBundle holds %d certificates, want the new CA and the old", s.name, len(pemBlocks(nb.CABundle())))
		}
		b = FromSecretData(nb.SecretData())
	}
	// Once the old CA has expired it leaves the bundle.
	nb, changed, err := b.Renew(t0.Add(CALifetime+time.Hour), hosts)
	if err != nil || !changed || nb.PreviousCA != nil {
		t.Errorf("after the old CA expired: changed %v, previous %q, %v; want it dropped", changed, nb.PreviousCA, err)
	}
}

func mustCA(t *testing.T, b Bundle) *x509.Certificate {
	t.Helper()
	ca, _, err := parseCA(b.CACert, b.CAKey)
	if err != nil {
		t.Fatalf("the bundle's CA: %v", err)
	}
	return ca
}
