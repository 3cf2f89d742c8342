package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/impact"
	"github.com/heraldlb/herald/internal/plannerinput"
	"github.com/heraldlb/herald/speaker/planner"
)

// maxListed bounds the prefixes, Services and problems one warning names.
const maxListed = 10

// Handler answers admission reviews of herald's objects.
type Handler struct {
	// Reader reads Services, EndpointSlices, Nodes, Namespaces and
	// herald's objects (the manager's cache).
	Reader client.Reader
	// SecretReader reads the BGPPeers' password Secrets one by one (the
	// API server: the controller may get Secrets, not list them).
	SecretReader client.Reader
	// Namespace is herald's namespace; LBClass the class served.
	Namespace, LBClass string
}

// Handle implements admission.Handler.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	obj, err := decode(req)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if obj == nil {
		return admission.Allowed("")
	}
	kind, name := req.Kind.Kind, obj.GetName()
	if req.Namespace != h.Namespace {
		return admission.Allowed("").WithWarnings(fmt.Sprintf("%s %s/%s: herald reads its objects in namespace %s only; this one is ignored", kind, req.Namespace, name, h.Namespace))
	}
	before, nsLabels, err := h.snapshot(ctx)
	if err != nil {
		// Not knowing the impact is no reason to refuse an edit: the
		// webhook fails open, as its failurePolicy does.
		log.FromContext(ctx).Error(err, "reading the cluster for an admission review", "kind", kind, "name", name)
		return admission.Allowed("").WithWarnings(fmt.Sprintf("herald could not compute this change's impact (%v); admitted unchecked", err))
	}
	var after planner.Snapshot
	if req.Operation == admissionv1.Delete {
		after, _ = impact.Without(&before, kind, "", name)
	} else {
		if after, _, err = impact.With(&before, obj); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if err := h.addSecrets(ctx, &after); err != nil {
			log.FromContext(ctx).Error(err, "reading password Secrets", "kind", kind, "name", name)
		}
	}

	// Denials: what CEL inside one object cannot see.
	if pool, ok := obj.(*v1beta1.IPAddressPool); ok {
		if req.Operation != admissionv1.Delete {
			// Only overlaps this change makes: an edit of a pool that
			// already overlapped (made before the webhook ran) is not
			// blocked for what it did not do.
			had := map[string]bool{}
			if req.Operation == admissionv1.Update {
				if old, err := decodePool(req.OldObject.Raw); err == nil {
					for _, o := range OverlappingPools(old, before.Pools) {
						had[o] = true
					}
				}
			}
			var ov []string
			for _, o := range OverlappingPools(pool, before.Pools) {
				if !had[o] {
					ov = append(ov, o)
				}
			}
			if len(ov) > 0 {
				return admission.Denied(fmt.Sprintf("IPAddressPool %s: spec.addresses overlap %s: an address belongs to one pool only; remove the overlapping ranges from one of them",
					name, list(ov, maxListed)))
			}
		}
		if req.Operation != admissionv1.Create {
			old := pool
			var newPool *v1beta1.IPAddressPool
			if req.Operation == admissionv1.Update {
				newPool = pool
				if old, err = decodePool(req.OldObject.Raw); err != nil {
					return admission.Errored(http.StatusBadRequest, err)
				}
			}
			if st := StrandedIPs(old, newPool, before.Services, h.LBClass); len(st) > 0 {
				var items []string
				for _, s := range st {
					var ips []string
					for _, ip := range s.IPs {
						ips = append(ips, ip.String())
					}
					items = append(items, s.Service+" holds "+strings.Join(ips, ","))
				}
				what := "this edit takes away addresses"
				if newPool == nil {
					what = "deleting it takes away addresses"
				}
				if pool.Annotations[ForceAnnotation] != "true" {
					return admission.Denied(fmt.Sprintf("IPAddressPool %s: %s Services hold (%s): the controller would move them to other IPs or leave them with none. Move those Services first, keep the addresses, or set the annotation %s: \"true\" on the pool to do it anyway",
						name, what, list(items, maxListed), ForceAnnotation))
				}
			}
		}
	}

	r := impact.Compute(&before, &after, nsLabels)
	return admission.Allowed("").WithWarnings(Warnings(kind, name, r)...)
}

// Warnings are what the API server hands kubectl for a change whose impact
// is r: the prefixes withdrawn, the Services affected, the L2 IPs that
// move, the IPs that move, and the problems the change makes (references
// to objects that do not exist among them).
func Warnings(kind, name string, r *impact.Report) []string {
	var out []string
	if w := r.Withdrawn(); len(w) > 0 {
		// Each prefix with the peers (and nodes) it leaves.
		from := map[netip.Prefix][]string{}
		for _, n := range r.Nodes {
			for _, pc := range n.Peers {
				for _, p := range pc.Withdrawn {
					from[p] = append(from[p], pc.Peer+"@"+n.Node)
				}
			}
		}
		var ps []string
		for _, p := range w {
			ps = append(ps, fmt.Sprintf("%s (%s)", p, list(from[p], 4)))
		}
		out = append(out, fmt.Sprintf("%s %s: withdraws %s", kind, name, list(ps, maxListed)))
	}
	var nodes []string
	for _, n := range r.Nodes {
		if n.ConfigDiff != "" {
			nodes = append(nodes, n.Node)
		}
	}
	if len(nodes) > 0 {
		out = append(out, fmt.Sprintf("%s %s: changes the frr.conf of nodes %s", kind, name, list(nodes, maxListed)))
	}
	if names := r.ServiceNames(); len(names) > 0 {
		out = append(out, fmt.Sprintf("%s %s: affects Services %s", kind, name, list(names, maxListed)))
	}
	var moves []string
	for _, a := range r.Allocations {
		moves = append(moves, fmt.Sprintf("%s %s→%s", a.Service, addrs(a.Before), addrs(a.After)))
	}
	if len(moves) > 0 {
		out = append(out, fmt.Sprintf("%s %s: IPs change: %s", kind, name, list(moves, maxListed)))
	}
	var l2 []string
	for _, m := range r.L2Moves {
		l2 = append(l2, fmt.Sprintf("%s %s→%s", m.IP, orNone(m.From), orNone(m.To)))
	}
	if len(l2) > 0 {
		out = append(out, fmt.Sprintf("%s %s: Layer 2 IPs move: %s", kind, name, list(l2, maxListed)))
	}
	for i, p := range r.NewProblems {
		if i == maxListed {
			out = append(out, fmt.Sprintf("and %d more problems", len(r.NewProblems)-maxListed))
			break
		}
		out = append(out, p)
	}
	return out
}

func addrs(ips []netip.Addr) string {
	if len(ips) == 0 {
		return "none"
	}
	var s []string
	for _, ip := range ips {
		s = append(s, ip.String())
	}
	return strings.Join(s, ",")
}

func orNone(s string) string {
	if s == "" {
		return "no node"
	}
	return s
}

// snapshot reads the cluster as the speakers and the controller see it.
func (h *Handler) snapshot(ctx context.Context) (planner.Snapshot, map[string]map[string]string, error) {
	s := planner.Snapshot{Namespace: h.Namespace, LBClass: h.LBClass}
	var (
		svcs  corev1.ServiceList
		eps   discoveryv1.EndpointSliceList
		nodes corev1.NodeList
		nss   corev1.NamespaceList
	)
	for _, l := range []struct {
		what string
		list client.ObjectList
	}{{"services", &svcs}, {"endpointslices", &eps}, {"nodes", &nodes}, {"namespaces", &nss}} {
		if err := h.Reader.List(ctx, l.list); err != nil {
			return s, nil, fmt.Errorf("listing %s: %w", l.what, err)
		}
	}
	s.Services, s.EndpointSlices, s.Nodes = svcs.Items, eps.Items, nodes.Items
	if err := plannerinput.ListHeraldObjects(ctx, h.Reader, h.Namespace, &s); err != nil {
		return s, nil, err
	}
	labels := map[string]map[string]string{}
	for _, n := range nss.Items {
		labels[n.Name] = n.Labels
	}
	return s, labels, h.addSecrets(ctx, &s)
}

// addSecrets reads the password Secrets s's peers name and s lacks.
func (h *Handler) addSecrets(ctx context.Context, s *planner.Snapshot) error {
	have := map[types.NamespacedName]bool{}
	for _, sec := range s.Secrets {
		have[types.NamespacedName{Namespace: sec.Namespace, Name: sec.Name}] = true
	}
	for _, p := range s.Peers {
		ref := p.Spec.PasswordSecret
		if ref == nil || ref.Name == "" {
			continue
		}
		key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
		if key.Namespace == "" {
			key.Namespace = h.Namespace
		}
		if have[key] {
			continue
		}
		have[key] = true
		var sec corev1.Secret
		switch err := h.SecretReader.Get(ctx, key, &sec); {
		case err == nil:
			s.Secrets = append(s.Secrets, sec)
		case apierrors.IsNotFound(err):
			// The planner reports the missing Secret.
		default:
			return fmt.Errorf("reading the password Secret %s of BGPPeer %s: %w", key, p.Name, err)
		}
	}
	return nil
}

// decode returns the object under review (the old one for a deletion), or
// nil for a kind the webhook does not check.
func decode(req admission.Request) (metav1.Object, error) {
	var obj metav1.Object
	switch req.Kind.Kind {
	case "IPAddressPool":
		obj = &v1beta1.IPAddressPool{}
	case "BGPPeer":
		obj = &v1beta1.BGPPeer{}
	case "BFDProfile":
		obj = &v1beta1.BFDProfile{}
	case "BGPAdvertisement":
		obj = &v1beta1.BGPAdvertisement{}
	case "L2Advertisement":
		obj = &v1beta1.L2Advertisement{}
	case "Community":
		obj = &v1beta1.Community{}
	default:
		return nil, nil
	}
	raw := req.Object.Raw
	if req.Operation == admissionv1.Delete {
		raw = req.OldObject.Raw
	}
	if err := json.Unmarshal(raw, obj); err != nil {
		return nil, fmt.Errorf("decoding %s %s: %w", req.Kind.Kind, req.Name, err)
	}
	return obj, nil
}

func decodePool(raw []byte) (*v1beta1.IPAddressPool, error) {
	var p v1beta1.IPAddressPool
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("decoding the IPAddressPool's old version: %w", err)
	}
	return &p, nil
}
