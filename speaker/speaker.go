package speaker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/speaker/health"
	"github.com/heraldlb/herald/speaker/l2"
	"github.com/heraldlb/herald/speaker/planner"
)

// L2 is the speaker's view of Layer 2 mode (an *l2.Node in production).
type L2 interface {
	// SetServices gives the IPs to announce and who may announce them.
	SetServices([]l2.Service)
	// Status lists the IPs this node answers for and where.
	Status() []l2.Announced
}

// Config configures a Speaker.
type Config struct {
	// Node is this node's name; Namespace herald's namespace; LBClass the
	// loadBalancerClass served ("" for Services with no class).
	Node, Namespace, LBClass string
	// Reader reads the cluster (the manager's cache); Client writes the
	// NodeState.
	Reader client.Reader
	Client client.Client
	// Agent applies FRR configs; nil turns BGP mode off (no FRR beside
	// the speaker): the speaker then only plans for Layer 2, applies and
	// reads nothing from FRR, and its NodeState reports no FRR config.
	Agent Agent
	// Events receives the events the speaker records on its Node (BGP
	// sessions reset by a config change); nil records none.
	Events record.EventRecorder
	// L2 is Layer 2 mode; nil disables it.
	L2 L2
	// Metrics are registered by NewMetrics; nil records nothing.
	Metrics *Metrics
	// Quiet is how long the speaker waits for more changes after one
	// arrives (default 3ms: the events of one change, such as a Service
	// and its EndpointSlice, come together; changes that come while FRR
	// applies are merged by the apply goroutine, which applies only the
	// latest plan); MaxDelay bounds the wait from the first change
	// (default 50ms).
	Quiet, MaxDelay time.Duration
	// StateInterval is how often FRR's state is read between applies
	// (default 5s); L2Interval how often the L2 status is looked at
	// (default 500ms).
	StateInterval, L2Interval time.Duration
	// StatusInterval is the least time between two NodeState writes
	// (default 1s): a change within it is written when it ends, with
	// whatever changed meanwhile. Applies and FRR's state reads come in
	// bursts (a Service changes every node's config, then each node's
	// advertised prefixes); one write per burst spares the API server a
	// write per step on every node.
	StatusInterval time.Duration
	// ConflictStatusInterval is the least time between two NodeState
	// writes when the IP conflicts changed (default 200ms): an L2 that
	// says when its conflicts change (ConflictsChanged) has them written
	// at once, not at its next look, and a burst of them (every IP of a
	// probe round) makes one write.
	ConflictStatusInterval time.Duration
	// RetryInterval is how soon an apply that failed (agent unreachable)
	// is tried again (default 1s); it doubles up to 10s while failures
	// last.
	RetryInterval time.Duration
	// WithdrawTimeout bounds the withdrawal on shutdown (default 15s: a
	// full reload of FRR can take seconds on a busy node).
	WithdrawTimeout time.Duration
	// DrainWait is how long a draining node announces in graceful
	// shutdown before it withdraws, for the routers to move their traffic
	// to other paths (default 5s; negative: no graceful-shutdown step,
	// withdraw at once). A node drains when it is cordoned, has one of
	// DrainTaints or the exclude label, or its speaker stops.
	DrainWait time.Duration
	// DrainTaints are the keys of the NoSchedule/NoExecute taints that
	// make the node drain (planner.Snapshot.DrainTaints: nil means
	// planner.DefaultDrainTaints, empty none).
	DrainTaints []string
	// RouteMapDelaySeconds goes into every FRR config the speaker applies
	// (frrconfig.Config.RouteMapDelaySeconds: `bgp route-map delay-timer`)
	// unless the plan sets one; 0 leaves FRR's default, 5 s. bgpd holds
	// its peers after loading a config (a restarted bgpd, from watchfrr
	// or the agent) until that timer fires, and re-evaluates changed
	// communities and local-prefs only when it fires.
	RouteMapDelaySeconds uint16
	// StageNeighbors is how many new BGP neighbors one apply adds at most
	// (default frrconfig.DefaultStageNeighbors; negative: all at once). A
	// plan adding more than that to the config applied last is applied in
	// steps (frrconfig.StageNeighbors), each with the plan's prefixes and
	// other changes in full and the next neighbors; each step is planned
	// from the cluster as it is then, so a Service changed meanwhile
	// reaches FRR with the next step instead of after every neighbor.
	// While steps remain, the NodeState's FRR result is Progressing.
	StageNeighbors int
	// HostAddrs lists the node's interface addresses (nil: ListHostAddrs):
	// a Service IP found there is not announced over BGP, and reported as
	// an IPConflict (see DropHostConflicts). They are listed at every plan
	// and every HostCheckInterval (default 2s).
	HostAddrs         func() ([]HostAddr, error)
	HostCheckInterval time.Duration
	// HostConflictIgnore are the interfaces whose addresses are no
	// conflict; nil means DefaultHostConflictIgnore().
	HostConflictIgnore []string
	// HealthMetrics are the health checks' metrics (health.NewMetrics);
	// nil records none. HealthConcurrency bounds the health probes in
	// flight at once (default 16).
	HealthMetrics     *health.Metrics
	HealthConcurrency int
	// Log is the speaker's logger.
	Log logr.Logger
}

// Speaker plans and applies this node's announcements. Create it with New
// and run it with Run; Trigger tells it the cluster changed.
type Speaker struct {
	cfg     Config
	trigger chan struct{}
	// rewrite asks for the NodeState to be written even if unchanged (it
	// was deleted).
	rewrite chan struct{}
	// stateWanted asks readState for a read; stateRead carries the result.
	stateWanted chan struct{}
	stateRead   chan AgentState

	// gen numbers applies and invalid plans; the apply goroutine and
	// Run's take numbers from it.
	gen atomic.Int64
	// queueMu guards queue, shared by offer (Run's goroutine) and
	// applyLoop; wake wakes applyLoop when it is idle; outcomes carry each
	// finished apply back to Run's goroutine.
	queueMu  sync.Mutex
	queue    *latest[*frrconfig.Config]
	wake     chan struct{}
	outcomes chan applyOutcome

	// Owned by Run's goroutine.
	lastGood planner.LastGood
	// planner plans each sync, reusing the last plan's prefix order.
	planner planner.Planner
	// hostConflicts are the Service IPs found on the node's interfaces at
	// the last plan (not announced over BGP); hostAddrs those addresses.
	hostConflicts []v1beta1.IPConflict
	hostAddrs     map[HostAddr]bool
	plan          planner.Result
	// desired is the last config offered to the apply goroutine (a step
	// of rollout while one runs); target the last valid plan; applied the
	// last one the agent applied; invalid the last invalid plan reported
	// (nil once a valid one follows).
	desired, target, applied, invalid *frrconfig.Config
	// rollout is the plan's new neighbors being added in steps (stage.go);
	// nil when none.
	rollout *rollout
	retry   bool
	frr     *v1beta1.FRRConfigStatus
	state   AgentState
	// announced is BGPAnnouncements(state.Advertised), nil until built
	// (writeStatus) after each read of the state (gotState).
	announced *announced
	haveState bool
	written   *v1beta1.NodeStateStatus
	// object is the NodeState as last written (its resourceVersion the
	// API server's answer), nil when it must be read again; wroteAt is
	// when; statusDue when a write held back by StatusInterval is due
	// (zero: none).
	object             *v1beta1.NodeState
	wroteAt, statusDue time.Time
	problemSet         map[string]bool
	// followUps are the pending extra state reads after an apply.
	followUps []time.Duration
	// drillTimer fires when a drill in force expires (drill.go); drills
	// are this node's drills of the last plan.
	drillTimer *time.Timer
	drills     []planner.Drilled
	// snap is the last snapshot planned from (for the drain on stop);
	// drain the node's drain (nil when not draining), drainDue when it is
	// looked at again (zero: not by time).
	snap     *planner.Snapshot
	drain    *drainState
	drainDue time.Time

	// health runs this node's health checks; gated is its gated
	// Services as of the last plan, invalidChecks the Services whose
	// check does not parse (logged once).
	health        *health.Runner
	gated         map[string]health.State
	invalidChecks map[string]string

	// readyMu guards readyFRR, the last apply's status for the readiness
	// check (frr, read from another goroutine).
	readyMu  sync.Mutex
	readyFRR *v1beta1.FRRConfigStatus
}

// DefaultDrainWait is Config.DrainWait's default.
const DefaultDrainWait = 5 * time.Second

// maxRetryInterval bounds the backoff between retries of a failed apply.
const maxRetryInterval = 10 * time.Second

// followUpDelays are when FRR's state is read again after an apply, so that
// sessions and advertised prefixes show in NodeState without waiting for
// StateInterval. Two, not more: each read asks bgpd for its sessions and
// every established neighbor's advertised routes, work that competes with
// the applies for bgpd.
var followUpDelays = [...]time.Duration{500 * time.Millisecond, 2500 * time.Millisecond}

// New returns a Speaker; Run starts it.
func New(cfg Config) (*Speaker, error) {
	if cfg.Node == "" {
		return nil, errors.New("creating the speaker: no node name (set --node-name or NODE_NAME)")
	}
	if cfg.Reader == nil || cfg.Client == nil {
		return nil, errors.New("creating the speaker: reader and client are required")
	}
	if cfg.Agent == nil && cfg.L2 == nil {
		return nil, errors.New("creating the speaker: neither BGP (an FRR agent) nor Layer 2 mode is on, so it would announce nothing")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Quiet, 3*time.Millisecond)
	def(&cfg.MaxDelay, 50*time.Millisecond)
	def(&cfg.StateInterval, 5*time.Second)
	def(&cfg.L2Interval, 500*time.Millisecond)
	def(&cfg.StatusInterval, time.Second)
	def(&cfg.ConflictStatusInterval, 200*time.Millisecond)
	def(&cfg.RetryInterval, time.Second)
	def(&cfg.WithdrawTimeout, 15*time.Second)
	def(&cfg.HostCheckInterval, 2*time.Second)
	if cfg.HostAddrs == nil {
		cfg.HostAddrs = ListHostAddrs
	}
	if cfg.HostConflictIgnore == nil {
		cfg.HostConflictIgnore = DefaultHostConflictIgnore()
	}
	if cfg.DrainWait == 0 {
		cfg.DrainWait = DefaultDrainWait
	}
	if cfg.StageNeighbors == 0 {
		cfg.StageNeighbors = frrconfig.DefaultStageNeighbors
	}
	s := &Speaker{cfg: cfg, trigger: make(chan struct{}, 1), rewrite: make(chan struct{}, 1),
		stateWanted: make(chan struct{}, 1), stateRead: make(chan AgentState),
		queue: newLatest(cfg.RetryInterval, maxRetryInterval, sameConfig),
		wake:  make(chan struct{}, 1), outcomes: make(chan applyOutcome, 1),
		drillTimer: stoppedTimer()}
	s.health = health.NewRunner(health.RunnerConfig{OnChange: s.Trigger, Metrics: cfg.HealthMetrics,
		MaxConcurrent: cfg.HealthConcurrency, Log: cfg.Log.WithName("health")})
	return s, nil
}

// Trigger tells the speaker something it reads changed. It never blocks.
func (s *Speaker) Trigger() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// NodeStateDeleted tells the speaker its NodeState was deleted, so that it
// writes it again. It never blocks.
func (s *Speaker) NodeStateDeleted() {
	select {
	case s.rewrite <- struct{}{}:
	default:
	}
}

// Run plans and applies until ctx ends, then withdraws this node's prefixes
// and returns. Planning, L2 and the NodeState run in Run's goroutine; FRR
// applies in their own (applyLoop), so that a slow apply delays neither
// them nor the next plan, and the next apply is always the latest plan.
func (s *Speaker) Run(ctx context.Context) error {
	log := s.cfg.Log
	state := time.NewTicker(s.cfg.StateInterval)
	defer state.Stop()
	var l2tick <-chan time.Time
	if s.cfg.L2 != nil {
		t := time.NewTicker(s.cfg.L2Interval)
		defer t.Stop()
		l2tick = t.C
	}
	var retry, follow, status, drainTick <-chan time.Time
	var drainAt time.Time
	// statusAt is when status fires: a write due sooner re-arms it.
	var statusAt time.Time
	var conflicts <-chan struct{}
	if n, ok := s.cfg.L2.(conflictNotifier); ok {
		conflicts = n.ConflictsChanged()
	}
	delay := s.cfg.RetryInterval
	bgp := s.cfg.Agent != nil
	var hostTick <-chan time.Time
	if bgp {
		t := time.NewTicker(s.cfg.HostCheckInterval)
		defer t.Stop()
		hostTick = t.C
	}
	readCtx, stopReads := context.WithCancel(ctx)
	reads := make(chan struct{})
	applyCtx, stopApplies := context.WithCancel(ctx)
	applies := make(chan struct{})
	if bgp {
		go func() {
			defer close(reads)
			s.readState(readCtx)
		}()
		go func() {
			defer close(applies)
			s.applyLoop(applyCtx)
		}()
	} else {
		close(reads)
		close(applies)
	}
	defer func() {
		stopReads()
		<-reads
	}()
	defer stopApplies()
	healthCtx, stopHealth := context.WithCancel(ctx)
	checks := make(chan struct{})
	go func() {
		defer close(checks)
		s.health.Run(healthCtx)
	}()
	defer func() {
		stopHealth()
		<-checks
	}()
	s.Trigger()
	for {
		select {
		case <-ctx.Done():
			stopApplies()
			<-applies
			if !bgp {
				return nil
			}
			// An outcome the loop handed over before it ended.
			select {
			case o := <-s.outcomes:
				s.record(o)
			default:
			}
			s.drainOnStop()
			s.goodbye()
			return nil
		case o := <-s.outcomes:
			s.record(o)
			s.refreshState()
			s.writeStatus(ctx)
		case <-s.trigger:
			if !s.coalesce(ctx) {
				continue
			}
			s.sync(ctx)
		case <-retry:
			retry = nil
			s.sync(ctx)
		case <-state.C:
			s.refreshState()
		case st := <-s.stateRead:
			s.gotState(st)
			s.writeStatus(ctx)
		case <-l2tick:
			s.writeStatus(ctx)
		case <-conflicts:
			s.writeStatus(ctx)
		case <-hostTick:
			if s.hostChanged() {
				s.sync(ctx)
			}
		case <-s.rewrite:
			s.written, s.object = nil, nil
			s.writeStatus(ctx)
		case <-status:
			status, s.statusDue = nil, time.Time{}
			s.writeStatus(ctx)
		case <-follow:
			follow = nil
			s.refreshState()
		case <-s.drillTimer.C:
			s.sync(ctx)
		case <-drainTick:
			drainTick, drainAt = nil, time.Time{}
			s.sync(ctx)
		}
		if !s.drainDue.Equal(drainAt) {
			drainTick, drainAt = nil, s.drainDue
			if !drainAt.IsZero() {
				drainTick = time.After(time.Until(drainAt))
			}
		}
		if !s.statusDue.IsZero() && (status == nil || s.statusDue.Before(statusAt)) {
			status, statusAt = time.After(time.Until(s.statusDue)), s.statusDue
		}
		if follow == nil && len(s.followUps) > 0 {
			follow = time.After(s.followUps[0])
			s.followUps = s.followUps[1:]
		}
		switch {
		case !s.retry:
			retry, delay = nil, s.cfg.RetryInterval
		case retry == nil:
			retry = time.After(delay)
			log.V(1).Info("retrying", "in", delay)
			delay = min(2*delay, maxRetryInterval)
		}
	}
}

// coalesce waits for changes to stop arriving (Quiet) but no longer than
// MaxDelay from the first one. It reports false when ctx ended.
func (s *Speaker) coalesce(ctx context.Context) bool {
	deadline := time.Now().Add(s.cfg.MaxDelay)
	for {
		wait := min(s.cfg.Quiet, time.Until(deadline))
		if wait <= 0 {
			return true
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-s.trigger:
			t.Stop()
		case <-t.C:
			return true
		}
	}
}

// sync plans from the cache, gives L2 its IPs and hands a changed FRR
// config to the apply goroutine.
func (s *Speaker) sync(ctx context.Context) {
	log := s.cfg.Log
	snap, err := LoadSnapshot(ctx, s.cfg.Reader, s.cfg.Namespace, s.cfg.LBClass)
	if err != nil {
		log.Error(err, "reading the cluster")
		s.retry = true
		return
	}
	snap.LastGood = s.lastGood
	snap.Now = time.Now()
	snap.DrainTaints = s.cfg.DrainTaints
	if snap.HealthGates, err = s.healthGates(ctx, &snap); err != nil {
		log.Error(err, "reading the cluster")
		s.retry = true
		return
	}
	s.snap = &snap
	res := s.planner.Plan(&snap, s.cfg.Node)
	s.lastGood = res.LastGood
	s.plan = res
	s.followDrills(&snap, &res)
	s.logProblems(res.Problems)
	if s.cfg.L2 != nil {
		s.cfg.L2.SetServices(l2Services(res.L2))
	}
	s.retry = false
	if m := s.cfg.Metrics; m != nil {
		m.problems.Set(float64(len(res.Problems)))
	}
	cfg := s.drainConfig(&res, time.Now())
	if s.cfg.Agent == nil {
		// BGP mode is off: the FRR model is not applied anywhere.
		s.writeStatus(ctx)
		return
	}
	cfg, s.hostConflicts = s.dropHostConflicts(cfg)
	if err := cfg.Validate(); err != nil {
		// The planner checks each object against the renderer's rules, so
		// this is a planner bug; FRR keeps running the last config.
		if s.invalid == nil || !sameConfig(s.invalid, &cfg) {
			c := cfg
			s.invalid = &c
			gen := s.gen.Add(1)
			s.frr = &v1beta1.FRRConfigStatus{Generation: gen, Result: v1beta1.FRRFailed, Time: metav1.Now(),
				Message: redact(&cfg, "the planned config is invalid, the last one keeps running: "+err.Error())}
			log.Error(err, "the planned FRR config is invalid; not applying it", "generation", gen)
		}
		s.writeStatus(ctx)
		return
	}
	target := cfg
	s.target = &target
	// Many new neighbors go a few per apply: the next step.
	next := s.stage(&target)
	// After an invalid plan the next valid one is offered even if it
	// equals the last, so that the NodeState reports its apply.
	if s.desired == nil || s.invalid != nil || !sameConfig(s.desired, next) {
		s.desired, s.invalid = next, nil
		s.offer(next)
	}
	if s.applied != nil && sameConfig(s.applied, &cfg) && s.frr != nil && s.frr.Result == v1beta1.FRRApplied {
		// FRR already runs it (a drain step with nothing to change).
		s.drainApplied(&cfg, time.Now())
	}
	s.writeStatus(ctx)
}

func (s *Speaker) count(call string) {
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.agentErrors.WithLabelValues(call).Inc()
	}
}

// logProblems logs problems when the set changes (the controller puts them
// on the objects' status).
func (s *Speaker) logProblems(ps []planner.Problem) {
	set := make(map[string]bool, len(ps))
	changed := len(ps) != len(s.problemSet)
	for _, p := range ps {
		k := p.String()
		set[k] = true
		if !s.problemSet[k] {
			changed = true
		}
	}
	s.problemSet = set
	if !changed {
		return
	}
	for _, p := range ps {
		s.cfg.Log.Info("configuration problem", "kind", p.Kind, "name", p.Name, "field", p.Field, "reason", p.Reason, "problem", p.Message, "effect", p.Effect)
	}
}

// l2Services converts the planner's L2 output for speaker/l2.
func l2Services(in []planner.L2Service) []l2.Service {
	out := make([]l2.Service, 0, len(in))
	for _, s := range in {
		out = append(out, l2.Service{IP: s.IP, Nodes: s.Nodes, Interfaces: s.Interfaces})
	}
	return out
}
