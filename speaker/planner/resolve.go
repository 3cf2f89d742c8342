package planner

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/internal/verdict"
)

// problems collects Problems without duplicates.
type problems struct {
	list []Problem
	seen map[Problem]bool
}

func (ps *problems) add(p Problem) {
	if ps.seen == nil {
		ps.seen = map[Problem]bool{}
	}
	if ps.seen[p] {
		return
	}
	ps.seen[p] = true
	ps.list = append(ps.list, p)
}

func (ps *problems) sorted() []Problem {
	out := slices.Clone(ps.list)
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
	return out
}

// selects reports whether any of sels matches lbls; no selector matches
// everything. A selector that does not parse matches nothing and is
// returned as an error.
func selects(sels []metav1.LabelSelector, lbls map[string]string) (bool, error) {
	if len(sels) == 0 {
		return true, nil
	}
	var firstErr error
	for i := range sels {
		s, err := metav1.LabelSelectorAsSelector(&sels[i])
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("selector %d: %w", i, err)
			}
			continue
		}
		if s.Matches(labels.Set(lbls)) {
			return true, nil
		}
	}
	return false, firstErr
}

// communityAliases maps alias names to values: an alias defined twice with
// different values keeps the value of the oldest Community
// (verdict.DecideCommunities), and the newer one is reported.
func communityAliases(cs []v1beta1.Community, ps *problems) map[string]string {
	aliases, rejected := verdict.DecideCommunities(cs)
	for _, r := range rejected {
		ps.add(Problem{Kind: KindCommunity, Name: r.Name, Field: r.Field, Reason: r.Reason, Message: r.Message,
			Effect: "using the value of Community " + r.InEffect})
	}
	out := make(map[string]string, len(aliases))
	for name, a := range aliases {
		out[name] = a.Value
	}
	return out
}

// wellKnown maps the reserved standard communities to FRR's names.
var wellKnown = map[string]string{
	"65535:0":     "graceful-shutdown",
	"65535:666":   "blackhole",
	"65535:65281": "no-export",
	"65535:65282": "no-advertise",
	"65535:65283": "local-AS",
	"65535:65284": "no-peer",
}

// parseCommunity turns a community value into frrconfig's spelling; large
// reports a large community.
func parseCommunity(v string) (s string, large bool, err error) {
	if rest, ok := strings.CutPrefix(v, "large:"); ok {
		parts := strings.Split(rest, ":")
		if len(parts) != 3 {
			return "", false, fmt.Errorf("%q is not a large community: write large:a:b:c", v)
		}
		for _, p := range parts {
			if _, err := strconv.ParseUint(p, 10, 32); err != nil {
				return "", false, fmt.Errorf("%q is not a large community: each part is a number 0-4294967295", v)
			}
		}
		return rest, true, nil
	}
	parts := strings.Split(v, ":")
	if len(parts) != 2 {
		return "", false, fmt.Errorf("%q is not a community: write aa:nn or large:a:b:c", v)
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 16); err != nil {
			return "", false, fmt.Errorf("%q is not a standard community: both parts are numbers 0-65535", v)
		}
	}
	if n, ok := wellKnown[v]; ok {
		return n, false, nil
	}
	if v == "0:0" || strings.HasPrefix(v, "65535:") {
		return "", false, fmt.Errorf("%q is in the reserved range (0:0, 65535:x) and is not a well-known community: use another value", v)
	}
	return v, false, nil
}

// resolveAdvertisement checks an advertisement's communities and
// aggregation lengths against the aliases and pools.
func resolveAdvertisement(a *v1beta1.BGPAdvertisement, aliases map[string]string, pools map[string]*pool) (Advertisement, []Problem) {
	r := Advertisement{Name: a.Name, Spec: *a.Spec.DeepCopy(), AggregationLength: 32, AggregationLengthV6: 128}
	var probs []Problem
	bad := func(field, reason, format string, args ...any) {
		probs = append(probs, Problem{Kind: KindBGPAdvertisement, Name: a.Name, Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
	if a.Spec.AggregationLength != nil {
		r.AggregationLength = int(*a.Spec.AggregationLength)
	}
	if a.Spec.AggregationLengthV6 != nil {
		r.AggregationLengthV6 = int(*a.Spec.AggregationLengthV6)
	}
	std, large := map[string]bool{}, map[string]bool{}
	for i, c := range a.Spec.Communities {
		v := string(c)
		if val, ok := aliases[v]; ok {
			v = val
		} else if !strings.Contains(v, ":") {
			bad(fmt.Sprintf("spec.communities[%d]", i), ReasonUnknownCommunity,
				"%q is neither a community value nor an alias defined in a Community object of this namespace: define the alias in a Community, or write the value (aa:nn or large:a:b:c)", c)
			continue
		}
		s, isLarge, err := parseCommunity(v)
		if err != nil {
			bad(fmt.Sprintf("spec.communities[%d]", i), ReasonInvalidCommunity, "%v", err)
			continue
		}
		if isLarge {
			large[s] = true
		} else {
			std[s] = true
		}
	}
	r.Communities = sortedKeys(std)
	r.LargeCommunities = sortedKeys(large)
	names := slices.Clone(a.Spec.IPAddressPools)
	sort.Strings(names)
	for name, p := range pools {
		if !r.selectsPool(p) {
			continue
		}
		for _, e := range p.entries {
			agg := r.AggregationLength
			if e.v6 {
				agg = r.AggregationLengthV6
			}
			if agg < e.lowest {
				field := "spec.aggregationLength"
				if e.v6 {
					field = "spec.aggregationLengthV6"
				}
				bad(field, ReasonAggregationLength,
					"%d is shorter than the /%d of %s in pool %s, so the prefix would cover addresses outside the pool: use %d or more",
					agg, e.lowest, e.text, name, e.lowest)
			}
		}
	}
	sort.Slice(probs, func(i, j int) bool { return probs[i].Message < probs[j].Message })
	return r, probs
}

// selectsPool reports whether the advertisement covers pool p.
func (a *Advertisement) selectsPool(p *pool) bool {
	return advSelectsPool(a.Spec.IPAddressPools, a.Spec.IPAddressPoolSelectors, p)
}

func advSelectsPool(names []string, sels []metav1.LabelSelector, p *pool) bool {
	if len(names) == 0 && len(sels) == 0 {
		return true
	}
	if slices.Contains(names, p.name) {
		return true
	}
	if len(sels) == 0 {
		return false
	}
	ok, _ := selects(sels, p.labels)
	return ok
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// seconds converts a duration to whole seconds for FRR, or reports it out
// of range.
func seconds(d *metav1.Duration, max int64) (uint16, bool) {
	s := int64(d.Duration / time.Second)
	if s < 0 || s > max {
		return 0, false
	}
	return uint16(s), true
}

// resolvePeer turns a BGPPeer into a neighbor, checking its BFDProfile and
// password Secret.
func resolvePeer(p *v1beta1.BGPPeer, namespace string, profiles map[string]*v1beta1.BFDProfile, secrets map[string]*corev1.Secret) (Peer, []Problem) {
	var probs []Problem
	bad := func(field, reason, format string, args ...any) {
		probs = append(probs, Problem{Kind: KindBGPPeer, Name: p.Name, Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
	s := &p.Spec
	r := Peer{Name: p.Name, Spec: *s.DeepCopy()}
	n := &r.Neighbor
	if s.PeerAddress != "" {
		a, err := netip.ParseAddr(s.PeerAddress)
		if err != nil {
			bad("spec.peerAddress", ReasonInvalidPeer, "%q is not an IP address: write one such as 198.51.100.1", s.PeerAddress)
		}
		n.Address = a.Unmap()
	}
	n.Interface = s.Interface
	switch {
	case s.PeerASN != 0:
		n.RemoteAS = strconv.FormatUint(uint64(s.PeerASN), 10)
		r.IBGP = s.PeerASN == s.MyASN
	case s.DynamicASN != "":
		n.RemoteAS = string(s.DynamicASN)
		r.IBGP = s.DynamicASN == v1beta1.DynamicASNInternal
	default:
		bad("spec.peerASN", ReasonInvalidPeer, "neither peerASN nor dynamicASN is set: set one")
	}
	if s.PeerPort != 179 {
		n.Port = s.PeerPort
	}
	if s.HoldTime != nil {
		hold, ok := seconds(s.HoldTime, 65535)
		if !ok {
			bad("spec.holdTime", ReasonInvalidPeer, "%s is out of range: use 0s or 3s to 65535s", s.HoldTime.Duration)
		}
		keep := hold / 3
		if s.KeepaliveTime != nil {
			if keep, ok = seconds(s.KeepaliveTime, 65535); !ok {
				bad("spec.keepaliveTime", ReasonInvalidPeer, "%s is out of range: use at most holdTime", s.KeepaliveTime.Duration)
			}
		}
		n.Timers = &frrconfig.Timers{Keepalive: keep, Hold: hold}
	}
	if s.ConnectTime != nil {
		ct, ok := seconds(s.ConnectTime, 65535)
		if !ok {
			bad("spec.connectTime", ReasonInvalidPeer, "%s is out of range: use 1s to 65535s", s.ConnectTime.Duration)
		}
		n.ConnectTime = ct
	}
	n.UpdateSource = s.SourceAddress
	if s.EBGPMultiHop {
		n.EBGPMultihop = 255
	}
	n.GracefulRestart = s.EnableGracefulRestart
	if s.BFDProfile != "" {
		bp, ok := profiles[s.BFDProfile]
		if !ok {
			bad("spec.bfdProfile", ReasonUnknownBFDProfile,
				"BFDProfile %q does not exist in namespace %s: create it, or name an existing profile, or remove bfdProfile", s.BFDProfile, namespace)
		} else {
			fp := bfdProfile(bp)
			r.BFDProfile = &fp
			n.BFD = true
			n.BFDProfile = bp.Name
		}
	}
	if ref := s.PasswordSecret; ref != nil {
		ns := ref.Namespace
		if ns == "" {
			ns = namespace
		}
		sec, ok := secrets[ns+"/"+ref.Name]
		switch {
		case ns != namespace:
			bad("spec.passwordSecret", ReasonMissingPassword,
				"Secret %s/%s is outside herald's namespace %s, where herald reads password Secrets: create it in %s", ns, ref.Name, namespace, namespace)
		case !ok:
			bad("spec.passwordSecret", ReasonMissingPassword,
				"Secret %s/%s does not exist: create it (type kubernetes.io/basic-auth, key %q), or fix the name", ns, ref.Name, PasswordKey)
		case len(sec.Data[PasswordKey]) == 0:
			bad("spec.passwordSecret", ReasonMissingPassword,
				"Secret %s/%s has no %q key: add the password under that key", ns, ref.Name, PasswordKey)
		default:
			n.Password = string(sec.Data[PasswordKey])
		}
	}
	if len(probs) > 0 {
		return r, probs
	}
	// Let the renderer's own validation judge the rest (password
	// characters, ranges), on this neighbor alone, so one bad peer cannot
	// make the node's whole config unrenderable.
	one := frrconfig.Config{Routers: []frrconfig.Router{{ASN: s.MyASN, VRF: s.VRF, Neighbors: []frrconfig.Neighbor{*n}}}}
	if r.BFDProfile != nil {
		one.BFDProfiles = []frrconfig.BFDProfile{*r.BFDProfile}
	}
	if err := one.Validate(); err != nil {
		msg := err.Error()
		if n.Password != "" {
			msg = strings.ReplaceAll(msg, n.Password, "<password>")
		}
		field := "spec"
		if strings.Contains(msg, "password") {
			field = "spec.passwordSecret"
		} else if strings.Contains(msg, "bfdProfiles") {
			field = "spec.bfdProfile"
		}
		bad(field, ReasonInvalidPeer, "%s: fix the field it names", msg)
	}
	return r, probs
}

// bfdProfile converts a BFDProfile to frrconfig's model.
func bfdProfile(p *v1beta1.BFDProfile) frrconfig.BFDProfile {
	s := p.Spec
	out := frrconfig.BFDProfile{Name: p.Name}
	if s.ReceiveInterval != nil {
		out.ReceiveInterval = *s.ReceiveInterval
	}
	if s.TransmitInterval != nil {
		out.TransmitInterval = *s.TransmitInterval
	}
	if s.DetectMultiplier != nil {
		out.DetectMultiplier = uint8(min(*s.DetectMultiplier, 255))
	}
	if s.EchoInterval != nil {
		out.EchoInterval = *s.EchoInterval
	}
	if s.EchoMode != nil {
		out.EchoMode = *s.EchoMode
	}
	if s.PassiveMode != nil {
		out.PassiveMode = *s.PassiveMode
	}
	if s.MinimumTTL != nil {
		out.MinimumTTL = uint8(min(*s.MinimumTTL, 255))
	}
	return out
}

// validateBFDProfile reports a profile FRR would refuse.
func validateBFDProfile(p *v1beta1.BFDProfile) []Problem {
	fp := bfdProfile(p)
	c := frrconfig.Config{BFDProfiles: []frrconfig.BFDProfile{fp}}
	if err := c.Validate(); err != nil {
		return []Problem{{Kind: KindBFDProfile, Name: p.Name, Field: "spec", Reason: ReasonInvalidBFDProfile,
			Message: err.Error() + ": fix the field it names"}}
	}
	return nil
}
