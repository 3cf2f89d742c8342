package controllers

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/plannerinput"
	"github.com/heraldlb/herald/speaker/planner"
)

// viewMaxAge bounds how long the announcer reuses its view of the cluster:
// password Secrets are read uncached, so no event tells of their changes.
const viewMaxAge = time.Second

// announcer computes a Service's Announced condition from the cluster as
// the cache shows it. The AnnouncedReconciler and the Service reconciler
// share it: the Service reconciler writes the condition in the same status
// write as new IPs, so a new Service costs one write, not two.
//
// While Services arrive in bulk, the rest of the cluster rarely changes, so
// the announcer counts the changes to it (the epoch, moved by the
// AnnouncedReconciler's handlers) and reuses between Services what does not
// depend on them: its view of Nodes, herald's objects and Secrets, and the
// Service reconciler's condition, which the AnnouncedReconciler need not
// recompute when its write reaches the cache with no change in between.
type announcer struct {
	client client.Reader
	// api reads password Secrets uncached (the controller caches none).
	api       client.Reader
	namespace string
	lbClass   string

	// epoch counts the changes to what the condition is computed from
	// besides the Service itself.
	epoch atomic.Uint64
	// maxAge is how long a view serves at most (viewMaxAge).
	maxAge time.Duration

	mu sync.Mutex
	// view is the planner's snapshot without Services and EndpointSlices,
	// as listed at an epoch.
	view *announcerView
	// written holds the Announced conditions the Service reconciler wrote
	// with new IPs that the AnnouncedReconciler has not looked at yet.
	written map[types.NamespacedName]writtenCondition
}

// announcerView is the planner's snapshot, without Services and
// EndpointSlices, listed at epoch, at a time.
type announcerView struct {
	epoch uint64
	at    time.Time
	snap  planner.Snapshot
}

// writtenCondition is an Announced condition (nil: none) computed at an
// epoch for a Service holding ips, on its way to the Service, written over
// its copy at resourceVersion from.
type writtenCondition struct {
	epoch uint64
	from  string
	ips   []netip.Addr
	cond  *metav1.Condition
}

// newAnnouncer is the announcer of mgr's cache for opts.
func newAnnouncer(mgr manager.Manager, opts Options) *announcer {
	return &announcer{client: mgr.GetClient(), api: mgr.GetAPIReader(), namespace: opts.Namespace, lbClass: opts.LBClass,
		maxAge: viewMaxAge, written: map[types.NamespacedName]writtenCondition{}}
}

// changed notes a change to what conditions are computed from.
func (a *announcer) changed() { a.epoch.Add(1) }

// writing notes that cond, computed at epoch for the Service key holding
// ips, is about to be written with them over the cache's copy at
// resourceVersion from. It is noted before the write, as the write may
// reach the cache (and the AnnouncedReconciler) before its answer reaches
// the writer.
func (a *announcer) writing(key types.NamespacedName, epoch uint64, from string, ips []netip.Addr, cond *metav1.Condition) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.written[key] = writtenCondition{epoch: epoch, from: from, ips: ips, cond: cond}
}

// upToDate says whether svc, as the cache shows it, holds the IPs and the
// condition the Service reconciler wrote, computed since the last change to
// the cluster: then it needs no recheck. The copy the write was made over
// keeps the note for the write's own event; any later copy drops it (the
// cache only moves forward, and the writer read the same cache).
func (a *announcer) upToDate(key types.NamespacedName, svc *corev1.Service) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	w, ok := a.written[key]
	if !ok || svc.ResourceVersion == w.from {
		return false
	}
	delete(a.written, key)
	return w.epoch == a.epoch.Load() && slices.Equal(StatusIPs(svc), w.ips) &&
		sameAnnounced(meta.FindStatusCondition(svc.Status.Conditions, ConditionAnnounced), w.cond)
}

// sameAnnounced says whether two Announced conditions (or their absence)
// say the same, as setAnnounced compares them.
func sameAnnounced(a, b *metav1.Condition) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Status == b.Status && a.Reason == b.Reason && a.Message == b.Message && a.ObservedGeneration == b.ObservedGeneration
}

// forget drops the note of a write to a Service that is gone.
func (a *announcer) forget(key types.NamespacedName) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.written, key)
}

// condition is the Announced condition svc should carry, or nil when it
// should carry none (not herald's, no IPs, being deleted).
func (a *announcer) condition(ctx context.Context, svc *corev1.Service) (*metav1.Condition, error) {
	ips := StatusIPs(svc)
	if !Serves(svc, a.lbClass) || len(ips) == 0 || !svc.DeletionTimestamp.IsZero() {
		return nil, nil
	}
	var states v1beta1.NodeStateList
	// The cache's own objects, not copies: they are only read here, and
	// each holds every prefix its node announces.
	if err := a.client.List(ctx, &states, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing node states: %w", err)
	}
	seen := Announcements(ips, states.Items)
	cond := metav1.Condition{Type: ConditionAnnounced, ObservedGeneration: svc.Generation, Status: metav1.ConditionTrue, Reason: ReasonAnnounced}
	var msgs []string
	var missing []netip.Addr
	for _, ip := range ips {
		if d := seen[ip].describe(); d != "" {
			msgs = append(msgs, ip.String()+": "+d)
		} else {
			missing = append(missing, ip)
		}
	}
	if len(missing) > 0 {
		snap, err := a.snapshotFor(ctx, svc)
		if err != nil {
			return nil, err
		}
		expected := planner.Explain(&snap, keyOf(svc))
		cond.Status = metav1.ConditionFalse
		var notes []string
		for _, ip := range missing {
			for _, e := range expected {
				if e.IP != ip {
					continue
				}
				reason, msg := whyMissing(&e, states.Items)
				if cond.Reason == ReasonAnnounced {
					cond.Reason = reason
				}
				notes = append(notes, ip.String()+": not announced: "+msg)
			}
		}
		msgs = append(notes, msgs...)
	}
	if conflicts := Conflicts(ips, states.Items); len(conflicts) > 0 {
		cond.Status, cond.Reason = metav1.ConditionFalse, ReasonIPConflict
		var notes []string
		for _, ip := range ips {
			if len(conflicts[ip]) > 0 {
				notes = append(notes, ip.String()+": IP conflict: "+strings.Join(conflicts[ip], "; "))
			}
		}
		msgs = append(notes, msgs...)
	}
	cond.Message = strings.Join(msgs, "; ")
	if len(cond.Message) > 32000 {
		cond.Message = cond.Message[:32000] + "..."
	}
	return &cond, nil
}

// snapshotFor is what planner.Explain needs for one Service: the view,
// with the Service and its EndpointSlices.
func (a *announcer) snapshotFor(ctx context.Context, svc *corev1.Service) (planner.Snapshot, error) {
	s, err := a.currentView(ctx)
	if err != nil {
		return s, err
	}
	if s.EndpointSlices, err = listEndpointSlices(ctx, a.client, client.InNamespace(svc.Namespace),
		client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
		return s, fmt.Errorf("listing for the announced condition: %w", err)
	}
	s.Services = []corev1.Service{*svc}
	return s, nil
}

// currentView returns the view of the current epoch, listing it anew when
// the epoch moved or the view is older than maxAge. The view's objects
// are the cache's own, shared by every caller: the planner only reads them.
func (a *announcer) currentView(ctx context.Context) (planner.Snapshot, error) {
	epoch := a.epoch.Load()
	a.mu.Lock()
	v := a.view
	a.mu.Unlock()
	if v != nil && v.epoch == epoch && time.Since(v.at) < a.maxAge {
		return v.snap, nil
	}
	s, err := loadSnapshot(ctx, a.client, a.api, a.namespace, a.lbClass, "the announced condition", true)
	if err != nil {
		return s, err
	}
	a.mu.Lock()
	a.view = &announcerView{epoch: epoch, at: time.Now(), snap: s}
	a.mu.Unlock()
	return s, nil
}

// listEndpointSlices lists the EndpointSlices opts select: the cache's own
// objects, not copies (the planner only reads them, and a cluster has many).
func listEndpointSlices(ctx context.Context, c client.Reader, opts ...client.ListOption) ([]discoveryv1.EndpointSlice, error) {
	var eps discoveryv1.EndpointSliceList
	if err := c.List(ctx, &eps, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
		return nil, err
	}
	return eps.Items, nil
}

// loadSnapshot lists what the planner reads besides Services and
// EndpointSlices: Nodes, herald's objects in namespace and, uncached
// through api, the peers' password Secrets. what names the caller in
// errors. Nodes are the cache's own objects, not copies: the planner only
// reads them, and a cluster has many. herald's objects are copies, which
// the caller may change (their status), unless readOnly: then they are the
// cache's own too.
func loadSnapshot(ctx context.Context, c, api client.Reader, namespace, lbClass, what string, readOnly bool) (planner.Snapshot, error) {
	s := planner.Snapshot{Namespace: namespace, LBClass: lbClass}
	var nodes corev1.NodeList
	if err := c.List(ctx, &nodes, client.UnsafeDisableDeepCopy); err != nil {
		return s, fmt.Errorf("listing nodes for %s: %w", what, err)
	}
	s.Nodes = nodes.Items
	var opts []client.ListOption
	if readOnly {
		opts = append(opts, client.UnsafeDisableDeepCopy)
	}
	if err := plannerinput.ListHeraldObjects(ctx, c, namespace, &s, opts...); err != nil {
		return s, fmt.Errorf("%s: %w", what, err)
	}
	secrets, err := peerSecrets(ctx, api, namespace, s.Peers)
	if err != nil {
		return s, err
	}
	s.Secrets = secrets
	return s, nil
}

// peerSecrets reads the password Secrets the peers name, uncached.
func peerSecrets(ctx context.Context, api client.Reader, namespace string, peers []v1beta1.BGPPeer) ([]corev1.Secret, error) {
	var out []corev1.Secret
	seen := map[string]bool{}
	for _, p := range peers {
		ref := p.Spec.PasswordSecret
		if ref == nil {
			continue
		}
		ns := ref.Namespace
		if ns == "" {
			ns = namespace
		}
		if ns != namespace {
			// The planner reports it (herald reads password Secrets in
			// its own namespace only, and may read no other).
			continue
		}
		if seen[ns+"/"+ref.Name] {
			continue
		}
		seen[ns+"/"+ref.Name] = true
		var s corev1.Secret
		err := api.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, &s)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("getting secret %s/%s of BGPPeer %s: %w", ns, ref.Name, p.Name, err)
		default:
			out = append(out, s)
		}
	}
	return out, nil
}

// Seen is who announces one IP according to the NodeStates.
type Seen struct {
	// BGP maps node to the peers (BGPPeer names, else addresses) it
	// announces the IP to over an Established session.
	BGP map[string][]string
	// L2 maps node to the interfaces it answers on.
	L2 map[string][]string
}

func (s Seen) describe() string {
	var parts []string
	if len(s.BGP) > 0 {
		var ns []string
		for _, n := range sortedMapKeys(s.BGP) {
			ns = append(ns, fmt.Sprintf("%s (to %s)", n, strings.Join(s.BGP[n], ", ")))
		}
		parts = append(parts, "BGP from "+strings.Join(ns, ", "))
	}
	if len(s.L2) > 0 {
		var ns []string
		for _, n := range sortedMapKeys(s.L2) {
			ns = append(ns, fmt.Sprintf("%s on %s", n, strings.Join(s.L2[n], ", ")))
		}
		parts = append(parts, "L2 from "+strings.Join(ns, ", "))
	}
	return strings.Join(parts, "; ")
}

func sortedMapKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Announcements reads from the NodeStates who announces each of ips.
func Announcements(ips []netip.Addr, states []v1beta1.NodeState) map[netip.Addr]Seen {
	out := map[netip.Addr]Seen{}
	for _, ip := range ips {
		out[ip] = Seen{BGP: map[string][]string{}, L2: map[string][]string{}}
	}
	for _, ns := range states {
		sessions := map[string]v1beta1.BGPSessionStatus{}
		for _, s := range ns.Status.BGPSessions {
			sessions[s.VRF+"|"+s.Peer] = s
		}
		for _, a := range ns.Status.BGPAnnouncements {
			s, ok := sessions[a.VRF+"|"+a.Peer]
			if ok && s.State != "Established" {
				continue
			}
			name := a.Peer
			if s.PeerName != "" {
				name = s.PeerName
			}
			for _, p := range a.Prefixes {
				pfx, err := netip.ParsePrefix(p)
				if err != nil {
					continue
				}
				for _, ip := range ips {
					if pfx.Contains(ip) && !slices.Contains(out[ip].BGP[ns.Name], name) {
						out[ip].BGP[ns.Name] = append(out[ip].BGP[ns.Name], name)
					}
				}
			}
		}
		for _, a := range ns.Status.L2Announcements {
			ip, err := netip.ParseAddr(a.IP)
			if err != nil {
				continue
			}
			if seen, ok := out[ip.Unmap()]; ok && !slices.Contains(seen.L2[ns.Name], a.Interface) {
				seen.L2[ns.Name] = append(seen.L2[ns.Name], a.Interface)
			}
		}
	}
	return out
}

// Conflicts reads from the NodeStates which of ips another host holds:
// per IP, one sentence per node reporting it, sorted by node.
func Conflicts(ips []netip.Addr, states []v1beta1.NodeState) map[netip.Addr][]string {
	want := map[netip.Addr]bool{}
	for _, ip := range ips {
		want[ip] = true
	}
	out := map[netip.Addr][]string{}
	byName := slices.Clone(states)
	slices.SortFunc(byName, func(a, b v1beta1.NodeState) int { return strings.Compare(a.Name, b.Name) })
	for _, ns := range byName {
		for _, c := range ns.Status.IPConflicts {
			ip, err := netip.ParseAddr(c.IP)
			if err != nil || !want[ip.Unmap()] {
				continue
			}
			var msg string
			switch {
			case c.Mode == "BGP":
				msg = fmt.Sprintf("node %s has it on its interface %s, put there by something other than herald: not announced over BGP from %s; remove the address or give the Service another IP", ns.Name, c.Interface, ns.Name)
			case c.Announcing:
				msg = fmt.Sprintf("host %s claimed it on %s's interface %s while %s answered for it: %s keeps answering and does not fight over it; find the host with MAC %s and remove the address", c.MAC, ns.Name, c.Interface, ns.Name, ns.Name, c.MAC)
			default:
				msg = fmt.Sprintf("host %s answers for it on %s's interface %s: %s does not announce it, and probes again with backoff until that host lets it go; find the host with MAC %s and remove the address", c.MAC, ns.Name, c.Interface, ns.Name, c.MAC)
			}
			out[ip.Unmap()] = append(out[ip.Unmap()], msg)
		}
	}
	return out
}

// whyMissing explains an IP nobody reports announcing: the planner's
// reason, or, when nodes should announce it, what their NodeStates say.
func whyMissing(e *planner.Expected, states []v1beta1.NodeState) (string, string) {
	if e.Reason != "" {
		return e.Reason, e.Message
	}
	byNode := map[string]*v1beta1.NodeState{}
	for i := range states {
		byNode[states[i].Name] = &states[i]
	}
	var down, pending []string
	for _, n := range sortedMapKeys(e.BGP) {
		ns := byNode[n]
		if ns == nil {
			pending = append(pending, n+" (no NodeState yet)")
			continue
		}
		for _, peer := range e.BGP[n] {
			state := ""
			for _, s := range ns.Status.BGPSessions {
				if s.PeerName == peer {
					state = s.State
				}
			}
			switch state {
			case "Established":
				pending = append(pending, n+" to "+peer)
			case "":
				down = append(down, fmt.Sprintf("%s to %s (no session)", n, peer))
			default:
				down = append(down, fmt.Sprintf("%s to %s (%s)", n, peer, state))
			}
		}
	}
	if len(down) > 0 {
		return ReasonSessionsDown, "the BGP sessions it should be announced over are not Established: " + strings.Join(down, ", ") + ": check the peers and the nodes' NodeStates"
	}
	if len(e.L2Nodes) > 0 {
		pending = append(pending, "L2 on one of "+strings.Join(e.L2Nodes, ", "))
	}
	return ReasonPending, "the speakers have not reported it yet: expected from " + strings.Join(pending, ", ")
}
