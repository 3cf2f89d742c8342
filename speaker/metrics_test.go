package speaker

import (
	"net/netip"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/heraldlb/herald/frrconfig"
)

func TestPrefixChanges(t *testing.T) {
	cfg := func(vrf string, ps ...string) *frrconfig.Config {
		r := frrconfig.Router{VRF: vrf}
		for _, p := range ps {
			pp := netip.MustParsePrefix(p)
			if pp.Addr().Is4() {
				r.IPv4Networks = append(r.IPv4Networks, pp)
			} else {
				r.IPv6Networks = append(r.IPv6Networks, pp)
			}
		}
		return &frrconfig.Config{Routers: []frrconfig.Router{r}}
	}
	tests := []struct {
		name                 string
		prev, next           *frrconfig.Config
		announced, withdrawn int
	}{
		{name: "first apply", prev: nil, next: cfg("", "192.0.2.1/32", "2001:db8:200::1/128"), announced: 2},
		{name: "same", prev: cfg("", "192.0.2.1/32"), next: cfg("", "192.0.2.1/32")},
		{name: "one moved", prev: cfg("", "192.0.2.1/32", "192.0.2.2/32"), next: cfg("", "192.0.2.1/32", "192.0.2.3/32"), announced: 1, withdrawn: 1},
		{name: "all gone", prev: cfg("", "192.0.2.1/32", "192.0.2.2/32"), next: cfg(""), withdrawn: 2},
		{name: "other vrf is another prefix", prev: cfg("", "192.0.2.1/32"), next: cfg("red", "192.0.2.1/32"), announced: 1, withdrawn: 1},
		{name: "withdraw on shutdown", prev: cfg("", "192.0.2.1/32"), next: nil, withdrawn: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, w := PrefixChanges(tt.prev, tt.next)
			if a != tt.announced || w != tt.withdrawn {
				t.Errorf("PrefixChanges = (%d announced, %d withdrawn), want (%d, %d)", a, w, tt.announced, tt.withdrawn)
			}
		})
	}
}

// TestSessionsUnknown: a failed read of FRR's state turns the sessions last
// seen Established into down ones, and the next read sets them again.
func TestSessionsUnknown(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	up := func() float64 {
		return testutil.ToFloat64(m.sessionUp.WithLabelValues("198.51.100.1", "", "router"))
	}
	m.setSessions([]sessionSample{{labels: [3]string{"198.51.100.1", "", "router"}, up: true, prefixes: 2}})
	if v := up(); v != 1 {
		t.Fatalf("herald_bgp_session_up after an Established read = %v, want 1", v)
	}
	m.sessionsUnknown()
	if v := up(); v != 0 {
		t.Errorf("herald_bgp_session_up after a failed read = %v, want 0", v)
	}
	if n := testutil.CollectAndCount(m.sessionUp); n != 1 {
		t.Errorf("%d session series after a failed read, want the 1 last seen", n)
	}
	m.setSessions([]sessionSample{{labels: [3]string{"198.51.100.1", "", "router"}, up: true}})
	if v := up(); v != 1 {
		t.Errorf("herald_bgp_session_up after bgpd answered again = %v, want 1", v)
	}
}
