package speaker

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldlb/herald/frrconfig"
)

// Metrics are the speaker's Prometheus metrics (docs/metrics.md lists every
// name, type and label). How FRR applies a config, and how long it takes,
// is the frr-agent's to say (herald_frr_apply_total,
// herald_frr_apply_duration_seconds); the speaker counts what it handed over
// and what came back.
type Metrics struct {
	applies       *prometheus.CounterVec
	lastApply     *prometheus.GaugeVec
	generation    prometheus.Gauge
	sessionUp     *prometheus.GaugeVec
	prefixes      *prometheus.GaugeVec
	bfdUp         *prometheus.GaugeVec
	announced     *prometheus.GaugeVec
	prefixChanges *prometheus.CounterVec
	problems      prometheus.Gauge
	agentErrors   *prometheus.CounterVec

	// sessionsMu guards sessions, the label values of the last sessions
	// read, which a failed read sets to down.
	sessionsMu sync.Mutex
	sessions   [][3]string
}

// sessionSample is one BGP session as FRR reported it: its labels (peer,
// vrf, bgppeer), whether it is Established and the prefixes sent.
type sessionSample struct {
	labels   [3]string
	up       bool
	prefixes int
}

// setSessions replaces the BGP session gauges with those read from FRR.
func (m *Metrics) setSessions(ss []sessionSample) {
	m.sessionsMu.Lock()
	defer m.sessionsMu.Unlock()
	m.sessionUp.Reset()
	m.prefixes.Reset()
	m.sessions = m.sessions[:0]
	for _, s := range ss {
		up := 0.0
		if s.up {
			up = 1
		}
		m.sessionUp.WithLabelValues(s.labels[:]...).Set(up)
		m.prefixes.WithLabelValues(s.labels[:]...).Set(float64(s.prefixes))
		m.sessions = append(m.sessions, s.labels)
	}
}

// sessionsUnknown reports every session last read as down, with no
// prefixes: FRR's state could not be read (bgpd killed or restarting), and
// a session nobody can see Established is not up.
func (m *Metrics) sessionsUnknown() {
	m.sessionsMu.Lock()
	defer m.sessionsMu.Unlock()
	for _, l := range m.sessions {
		m.sessionUp.WithLabelValues(l[:]...).Set(0)
		m.prefixes.WithLabelValues(l[:]...).Set(0)
	}
}

// applyResults are the values of the result label, in the order the
// state-set herald_speaker_last_apply lists them.
var applyResults = []string{"applied", "rejected", "failed"}

// NewMetrics registers the speaker's metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_speaker_applies_total",
			Help: "FRR configurations the speaker handed to the frr-agent, by result: applied, rejected (FRR refused lines), failed (the agent did not answer or FRR failed).",
		}, []string{"result"}),
		lastApply: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_speaker_last_apply",
			Help: "1 for the result of the speaker's last FRR apply (applied, rejected, failed), 0 for the others; no series before the first apply.",
		}, []string{"result"}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_speaker_config_generation",
			Help: "Generation of the last FRR configuration the speaker handed to the frr-agent (NodeState .status.frr.generation once written).",
		}),
		sessionUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_bgp_session_up",
			Help: "1 when the BGP session with the peer is Established, else 0; bgppeer is the BGPPeer object.",
		}, []string{"peer", "vrf", "bgppeer"}),
		prefixes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_bgp_prefixes_advertised",
			Help: "Prefixes FRR advertises to the peer.",
		}, []string{"peer", "vrf", "bgppeer"}),
		bfdUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_bfd_session_up",
			Help: "1 when the BFD session with the peer is up, else 0.",
		}, []string{"peer", "vrf"}),
		announced: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_announced_addresses",
			Help: "Service addresses this node announces, by mode (bgp: prefixes in the applied FRR model; l2: IPs answered for).",
		}, []string{"mode"}),
		prefixChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_bgp_prefix_changes_total",
			Help: "Prefixes this node started (announced) or stopped (withdrawn) originating in BGP, counted when FRR applied the change.",
		}, []string{"change"}),
		problems: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_config_problems",
			Help: "Cross-object configuration problems the speaker's planner found (see the objects' status).",
		}),
		agentErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_speaker_agent_errors_total",
			Help: "Calls from the speaker to the frr-agent that failed, by call (apply, state).",
		}, []string{"call"}),
	}
	for _, c := range []prometheus.Collector{m.applies, m.lastApply, m.generation, m.sessionUp, m.prefixes, m.bfdUp, m.announced, m.prefixChanges, m.problems, m.agentErrors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering speaker metrics: %w", err)
		}
	}
	return m, nil
}

// applied counts an apply with its result (the API's Applied, Rejected or
// Failed, spelled in lower case) and sets the last-apply state set.
func (m *Metrics) applied(result string) {
	result = strings.ToLower(result)
	m.applies.WithLabelValues(result).Inc()
	for _, r := range applyResults {
		v := 0.0
		if r == result {
			v = 1
		}
		m.lastApply.WithLabelValues(r).Set(v)
	}
}

// prefixesChanged counts the prefixes in next and not in prev (announced)
// and the other way round (withdrawn); a nil prev is a node that announced
// nothing.
func (m *Metrics) prefixesChanged(prev, next *frrconfig.Config) {
	announced, withdrawn := PrefixChanges(prev, next)
	if announced > 0 {
		m.prefixChanges.WithLabelValues("announced").Add(float64(announced))
	}
	if withdrawn > 0 {
		m.prefixChanges.WithLabelValues("withdrawn").Add(float64(withdrawn))
	}
}

// PrefixChanges returns how many (VRF, prefix) pairs next originates that
// prev does not (announced) and the other way round (withdrawn). Either may
// be nil, an FRR model originating nothing.
func PrefixChanges(prev, next *frrconfig.Config) (announced, withdrawn int) {
	// One set, each pair marked with the models holding it.
	const inPrev, inNext = 1, 2
	seen := make(map[vrfPrefix]uint8, max(originatedCount(prev), originatedCount(next)))
	mark(seen, prev, inPrev)
	mark(seen, next, inNext)
	for _, m := range seen {
		switch m {
		case inNext:
			announced++
		case inPrev:
			withdrawn++
		}
	}
	return announced, withdrawn
}

// vrfPrefix is a prefix originated in a VRF.
type vrfPrefix struct {
	vrf    string
	prefix netip.Prefix
}

// originatedCount is how many networks a model's routers hold.
func originatedCount(cfg *frrconfig.Config) int {
	n := 0
	if cfg != nil {
		for _, r := range cfg.Routers {
			n += len(r.IPv4Networks) + len(r.IPv6Networks)
		}
	}
	return n
}

// mark sets bit in seen for each (VRF, prefix) cfg's routers originate.
func mark(seen map[vrfPrefix]uint8, cfg *frrconfig.Config, bit uint8) {
	if cfg == nil {
		return
	}
	for _, r := range cfg.Routers {
		for _, ps := range []frrconfig.Prefixes{r.IPv4Networks, r.IPv6Networks} {
			for _, p := range ps {
				seen[vrfPrefix{r.VRF, p}] |= bit
			}
		}
	}
}
