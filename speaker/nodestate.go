package speaker

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/speaker/l2"
	"github.com/heraldlb/herald/speaker/planner"
)

// readState reads FRR's state whenever asked, off the planning loop (a read
// is several commands to the agent's FRR and must not delay the next
// apply), and hands
// each result to the loop. It ends with ctx.
func (s *Speaker) readState(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stateWanted:
		}
		st, err := s.cfg.Agent.State(ctx)
		if err != nil {
			s.count("state")
			if m := s.cfg.Metrics; m != nil {
				// bgpd not answering (killed, restarting) is no session up.
				m.sessionsUnknown()
			}
			s.cfg.Log.V(1).Info("reading FRR's state failed", "error", err.Error())
			continue
		}
		select {
		case s.stateRead <- st:
		case <-ctx.Done():
			return
		}
	}
}

// refreshState asks for FRR's state to be read. It never blocks.
func (s *Speaker) refreshState() {
	select {
	case s.stateWanted <- struct{}{}:
	default:
	}
}

// gotState records FRR's state and updates the metrics.
func (s *Speaker) gotState(st AgentState) {
	s.state, s.haveState = st, true
	s.announced = nil
	m := s.cfg.Metrics
	if m == nil {
		return
	}
	names := peerNames(s.plan.Neighbors)
	sessions := make([]sessionSample, 0, len(st.Sessions))
	for _, ss := range st.Sessions {
		vrf := normVRF(ss.VRF)
		sessions = append(sessions, sessionSample{
			labels: [3]string{ss.Peer, vrf, names[vrf+"|"+ss.Peer]}, up: ss.Established, prefixes: ss.PrefixesSent,
		})
	}
	m.setSessions(sessions)
	m.bfdUp.Reset()
	for _, b := range st.BFDPeers {
		up := 0.0
		if b.Up {
			up = 1
		}
		m.bfdUp.WithLabelValues(b.Peer, normVRF(b.VRF)).Set(up)
	}
}

// normVRF spells the default VRF "".
func normVRF(v string) string {
	if v == "default" {
		return ""
	}
	return v
}

func peerNames(ns []planner.NeighborPlan) map[string]string {
	out := make(map[string]string, len(ns))
	for _, n := range ns {
		out[n.VRF+"|"+n.Key] = n.Peer
	}
	return out
}

// BuildStatus is the NodeState status for the last apply, FRR's state, the
// plan and the L2 announcements. prev is the status written before: an
// established session's upSince is kept when it moved by less than two
// seconds, so that the status does not change on every read.
func BuildStatus(frr *v1beta1.FRRConfigStatus, st AgentState, plan *planner.Result, l2s []l2.Announced, now time.Time, prev *v1beta1.NodeStateStatus) v1beta1.NodeStateStatus {
	return buildStatus(frr, st, BGPAnnouncements(st.Advertised), plan, l2s, now, prev)
}

// BGPAnnouncements is the NodeState's account of what FRR advertises:
// one entry per peer advertised something, sorted by VRF and peer.
func BGPAnnouncements(adv []Advertised) []v1beta1.BGPAnnouncement {
	var out []v1beta1.BGPAnnouncement
	for _, a := range adv {
		if len(a.Prefixes) == 0 {
			continue
		}
		ba := v1beta1.BGPAnnouncement{Peer: a.Peer, VRF: normVRF(a.VRF), Prefixes: make([]string, 0, len(a.Prefixes))}
		for _, p := range a.Prefixes {
			ba.Prefixes = append(ba.Prefixes, p.String())
		}
		out = append(out, ba)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.VRF != b.VRF {
			return a.VRF < b.VRF
		}
		return a.Peer < b.Peer
	})
	return out
}

// buildStatus is BuildStatus with the BGP announcements already built
// (BGPAnnouncements of st.Advertised).
func buildStatus(frr *v1beta1.FRRConfigStatus, st AgentState, anns []v1beta1.BGPAnnouncement, plan *planner.Result, l2s []l2.Announced, now time.Time, prev *v1beta1.NodeStateStatus) v1beta1.NodeStateStatus {
	out := v1beta1.NodeStateStatus{BGPAnnouncements: anns}
	if frr != nil {
		c := *frr
		out.FRR = &c
	}
	names := peerNames(plan.Neighbors)
	prevUp := map[string]*metav1.Time{}
	if prev != nil {
		for _, ss := range prev.BGPSessions {
			prevUp[ss.VRF+"|"+ss.Peer] = ss.UpSince
		}
	}
	for _, ss := range st.Sessions {
		vrf := normVRF(ss.VRF)
		bs := v1beta1.BGPSessionStatus{Peer: ss.Peer, PeerName: names[vrf+"|"+ss.Peer], VRF: vrf, State: ss.State,
			PrefixesSent: int64(ss.PrefixesSent), PrefixesReceived: int64(ss.PrefixesReceived)}
		if ss.Established {
			out.SessionsUp++
			since := now.Add(-ss.Uptime).Truncate(time.Second)
			if p := prevUp[vrf+"|"+ss.Peer]; p != nil && absDur(p.Time.Sub(since)) < 2*time.Second {
				since = p.Time
			}
			t := metav1.NewTime(since)
			bs.UpSince = &t
		}
		out.BGPSessions = append(out.BGPSessions, bs)
	}
	for _, b := range st.BFDPeers {
		out.BFDPeers = append(out.BFDPeers, bfdStatus(b))
	}
	sort.Slice(l2s, func(i, j int) bool {
		if l2s[i].IP != l2s[j].IP {
			return l2s[i].IP.Less(l2s[j].IP)
		}
		return l2s[i].Interface < l2s[j].Interface
	})
	for _, a := range l2s {
		out.L2Announcements = append(out.L2Announcements, v1beta1.L2Announcement{IP: a.IP.String(), Interface: a.Interface})
	}
	out.Conditions = configCondition(plan.Problems, now, prev)
	return out
}

// ConditionConfigAccepted is the NodeState condition saying whether the
// planner found configuration problems that touch this node (the objects'
// own status says the same, per object).
const ConditionConfigAccepted = "ConfigAccepted"

// configCondition is ConditionConfigAccepted, keeping its transition time
// from prev while its status holds.
func configCondition(ps []planner.Problem, now time.Time, prev *v1beta1.NodeStateStatus) []metav1.Condition {
	var conds []metav1.Condition
	if prev != nil {
		conds = slices.Clone(prev.Conditions)
	}
	c := metav1.Condition{Type: ConditionConfigAccepted, Status: metav1.ConditionTrue, Reason: "NoProblems",
		Message: "no configuration problem touches this node", LastTransitionTime: metav1.NewTime(now.Truncate(time.Second))}
	if len(ps) > 0 {
		msgs := make([]string, len(ps))
		for i, p := range ps {
			msgs[i] = p.String()
		}
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, "Problems", strings.Join(msgs, "; ")
		if len(c.Message) > 4000 {
			c.Message = c.Message[:4000] + "..."
		}
	}
	meta.SetStatusCondition(&conds, c)
	return conds
}

func bfdStatus(b vtysh.BFDPeer) v1beta1.BFDPeerStatus {
	return v1beta1.BFDPeerStatus{Peer: b.Peer, VRF: normVRF(b.VRF), Interface: b.Interface, State: b.Status,
		ReceiveInterval: int64(b.Configured.Receive), TransmitInterval: int64(b.Configured.Transmit),
		EchoInterval: int64(b.Configured.EchoTransmit), DetectMultiplier: int64(b.Configured.DetectMultiplier)}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// writeStatus writes the NodeState when its status changed, at most once
// per StatusInterval — ConflictStatusInterval when the IP conflicts
// changed —: a change sooner is written when the interval ends.
func (s *Speaker) writeStatus(ctx context.Context) {
	var l2s []l2.Announced
	if s.cfg.L2 != nil {
		l2s = s.cfg.L2.Status()
		if m := s.cfg.Metrics; m != nil {
			m.announced.WithLabelValues("l2").Set(float64(len(l2s)))
		}
	}
	if s.cfg.L2 != nil {
		s.drainL2(len(l2s), time.Now())
	}
	if s.announced == nil {
		// Built once per read of FRR's state, not at every write: tens
		// of thousands of prefixes to format.
		s.announced = &announced{list: BGPAnnouncements(s.state.Advertised)}
	}
	st := buildStatus(s.frr, s.state, s.announced.list, &s.plan, l2s, time.Now(), s.written)
	st.Drain = s.drain.status()
	st.HealthGated = s.healthStatus()
	if se, ok := s.cfg.L2.(socketErrorer); ok {
		meta.SetStatusCondition(&st.Conditions, l2Condition(se.SocketError(), time.Now()))
	}
	if c, ok := s.cfg.L2.(conflicter); ok {
		st.IPConflicts = l2Conflicts(c.Conflicts())
	}
	st.IPConflicts = append(st.IPConflicts, s.hostConflicts...)
	if s.written != nil && equality.Semantic.DeepEqual(*s.written, st) {
		return
	}
	interval := s.cfg.StatusInterval
	if s.written == nil || !equality.Semantic.DeepEqual(s.written.IPConflicts, st.IPConflicts) {
		interval = min(interval, s.cfg.ConflictStatusInterval)
	}
	if due := s.wroteAt.Add(interval); time.Now().Before(due) {
		if s.statusDue.IsZero() || due.Before(s.statusDue) {
			s.statusDue = due
		}
		return
	}
	s.wroteAt = time.Now()
	if err := s.putStatus(ctx, st); err != nil {
		s.cfg.Log.Error(err, "writing the NodeState", "node", s.cfg.Node)
		s.retry = true
		return
	}
	s.written = &st
}

// putStatus writes st as the NodeState's status. It reads the NodeState
// (creating it when missing) only when no write of its own gave it the
// current version: the cache lags behind the speaker's own writes, and a
// write from a stale copy would be refused as a conflict.
func (s *Speaker) putStatus(ctx context.Context, st v1beta1.NodeStateStatus) error {
	ns := s.object
	s.object = nil
	if ns == nil {
		ns = &v1beta1.NodeState{}
		err := s.cfg.Client.Get(ctx, client.ObjectKey{Name: s.cfg.Node}, ns)
		if apierrors.IsNotFound(err) {
			ns = &v1beta1.NodeState{ObjectMeta: metav1.ObjectMeta{Name: s.cfg.Node}}
			if err = s.cfg.Client.Create(ctx, ns); apierrors.IsAlreadyExists(err) {
				err = s.cfg.Client.Get(ctx, client.ObjectKey{Name: s.cfg.Node}, ns)
			}
		}
		if err != nil {
			return err
		}
	}
	// A copy: the answer is decoded into ns, and st shares its
	// announcements with s.announced.
	ns.Status = *st.DeepCopy()
	if err := s.cfg.Client.Status().Update(ctx, ns); err != nil {
		return err
	}
	s.object = ns
	return nil
}

// announced holds BGPAnnouncements of the speaker's last read of FRR's
// state (nil list: none advertised).
type announced struct {
	list []v1beta1.BGPAnnouncement
}
