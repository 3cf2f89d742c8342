package kubectlplugin

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/apitest"
)

const heraldNS = "herald-system"

// clusterFixture creates, in a real API server, a small cluster as the
// controller and the speakers would have left it: pools, a peer, an
// advertisement per mode, three nodes, three Services with their status
// conditions, NodeStates and an Event.
func clusterFixture(t *testing.T, ctx context.Context, c client.Client) {
	t.Helper()
	apitest.Namespace(t, c, heraldNS)
	web := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"team": "web"}}}
	create(t, ctx, c, web)
	apitest.Namespace(t, c, "default")

	no := false
	pools := []*v1beta1.IPAddressPool{
		{ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: heraldNS}, Spec: v1beta1.IPAddressPoolSpec{
			Addresses:         []v1beta1.AddressRange{"192.0.2.0/28"},
			ServiceAllocation: &v1beta1.ServiceAllocation{Priority: 1, NamespaceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"team": "web"}}}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "lab", Namespace: heraldNS}, Spec: v1beta1.IPAddressPoolSpec{
			Addresses: []v1beta1.AddressRange{"198.51.100.64/28"}, AutoAssign: &no}},
		{ObjectMeta: metav1.ObjectMeta{Name: "tiny", Namespace: heraldNS}, Spec: v1beta1.IPAddressPoolSpec{
			Addresses: []v1beta1.AddressRange{"203.0.113.7-203.0.113.7"}}},
	}
	for _, p := range pools {
		create(t, ctx, c, p)
	}
	pools[2].Status = v1beta1.IPAddressPoolStatus{AssignedIPv4: "1", AvailableIPv4: "0", Assigned: "1", Available: "0"}
	if err := c.Status().Update(ctx, pools[2]); err != nil {
		t.Fatalf("updating pool status: %v", err)
	}
	create(t, ctx, c, &v1beta1.BFDProfile{ObjectMeta: metav1.ObjectMeta{Name: "fast", Namespace: heraldNS}})
	create(t, ctx, c, &v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "router", Namespace: heraldNS}, Spec: v1beta1.BGPPeerSpec{
		MyASN: 64512, PeerASN: 64513, PeerAddress: "198.51.100.1", BFDProfile: "fast"}})
	create(t, ctx, c, &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: heraldNS}, Spec: v1beta1.BGPAdvertisementSpec{
		IPAddressPools: []string{"prod"}, Communities: []v1beta1.CommunityOrAlias{"64512:100"},
		NodeSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"bgp": "yes"}}}}})
	create(t, ctx, c, &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "lab", Namespace: heraldNS}, Spec: v1beta1.L2AdvertisementSpec{
		IPAddressPools: []string{"lab"}, Interfaces: []v1beta1.InterfaceName{"eth0"}}})
	for _, n := range []*corev1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "node1", Labels: map[string]string{"bgp": "yes"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "node2", Labels: map[string]string{"bgp": "yes"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "node3", Labels: map[string]string{"node.kubernetes.io/exclude-from-external-load-balancers": ""}}},
	} {
		create(t, ctx, c, n)
	}

	lb := func(ns, name string, ann map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann}, Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}}}
	}
	cond := func(t, status, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: t, Status: metav1.ConditionStatus(status), Reason: reason, Message: msg, LastTransitionTime: metav1.Now()}
	}
	frontend := lb("web", "frontend", nil)
	pending := lb("default", "pending", nil)
	l2 := lb("web", "intranet", map[string]string{"heraldlb.io/address-pool": "lab"})
	for _, s := range []*corev1.Service{frontend, pending, l2} {
		create(t, ctx, c, s)
	}
	frontend.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}
	frontend.Status.Conditions = []metav1.Condition{
		cond(ConditionIPAllocated, "True", "Allocated", "192.0.2.1 from pool prod"),
		cond(ConditionAnnounced, "False", "SessionsDown", "the BGP sessions it should be announced over are not Established: node2→198.51.100.1 (Active): check the peers and the nodes' NodeStates"),
	}
	pending.Status.Conditions = []metav1.Condition{
		cond(ConditionIPAllocated, "False", "NoMatchingPool", "no pool serves namespace default: add it to a pool's serviceAllocation or create a pool"),
	}
	l2.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "198.51.100.65"}}
	l2.Status.Conditions = []metav1.Condition{
		cond(ConditionIPAllocated, "True", "Allocated", "198.51.100.65 from pool lab"),
		cond(ConditionAnnounced, "True", "Announced", "198.51.100.65: L2 from node2 on eth0"),
	}
	for _, s := range []*corev1.Service{frontend, pending, l2} {
		if err := c.Status().Update(ctx, s); err != nil {
			t.Fatalf("updating the status of %s/%s: %v", s.Namespace, s.Name, err)
		}
	}
	node := "node1"
	ready := true
	create(t, ctx, c, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "frontend-1",
		Labels: map[string]string{discoveryv1.LabelServiceName: "frontend"}}, AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.5"}, NodeName: &node, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}})

	up := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	states := []*v1beta1.NodeState{
		{ObjectMeta: metav1.ObjectMeta{Name: "node1"}, Status: v1beta1.NodeStateStatus{
			FRR: &v1beta1.FRRConfigStatus{Generation: 4, Hash: "aaaa", RunningHash: "aaaa", Result: v1beta1.FRRApplied, Method: v1beta1.FRRIncremental,
				Duration: &metav1.Duration{Duration: 12345 * time.Microsecond}, Time: up},
			BGPSessions:      []v1beta1.BGPSessionStatus{{Peer: "198.51.100.1", PeerName: "router", State: "Established", UpSince: &up, PrefixesSent: 1}},
			SessionsUp:       1,
			BFDPeers:         []v1beta1.BFDPeerStatus{{Peer: "198.51.100.1", State: "up", ReceiveInterval: 300, TransmitInterval: 300, DetectMultiplier: 3}},
			BGPAnnouncements: []v1beta1.BGPAnnouncement{{Peer: "198.51.100.1", Prefixes: []string{"192.0.2.1/32"}}},
		}},
		{ObjectMeta: metav1.ObjectMeta{Name: "node2"}, Status: v1beta1.NodeStateStatus{
			FRR: &v1beta1.FRRConfigStatus{Generation: 7, Hash: "bbbb", RunningHash: "cccc", Result: v1beta1.FRRRejected, Method: v1beta1.FRRIncremental,
				RejectedLines: []string{"line 12: neighbor 198.51.100.1 bfd profile fast: % Unknown profile"}, Message: "vtysh refused 1 line", Time: up},
			BGPSessions:      []v1beta1.BGPSessionStatus{{Peer: "198.51.100.1", PeerName: "router", State: "Active"}},
			BFDPeers:         []v1beta1.BFDPeerStatus{{Peer: "198.51.100.1", State: "down"}},
			BGPAnnouncements: []v1beta1.BGPAnnouncement{{Peer: "198.51.100.1", Prefixes: []string{"192.0.2.1/32"}}},
			L2Announcements:  []v1beta1.L2Announcement{{IP: "198.51.100.65", Interface: "eth0"}},
		}},
	}
	for _, st := range states {
		status := st.Status
		create(t, ctx, c, st)
		st.Status = status
		if err := c.Status().Update(ctx, st); err != nil {
			t.Fatalf("updating NodeState %s: %v", st.Name, err)
		}
	}
	create(t, ctx, c, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pending.1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Service", Namespace: "default", Name: "pending", APIVersion: "v1"},
		Type:           corev1.EventTypeWarning, Reason: "NoMatchingPool", Message: "no pool serves namespace default", Count: 3,
		LastTimestamp: up, Source: corev1.EventSource{Component: "herald-controller"}})
}

func create(t *testing.T, ctx context.Context, c client.Client, o client.Object) {
	t.Helper()
	if err := c.Create(ctx, o); err != nil {
		t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
	}
}

// TestClusterCommands runs status, why and diff on objects created in a real
// API server, read back by Load, and compares their output with golden files.
func TestClusterCommands(t *testing.T) {
	_, c := apitest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clusterFixture(t, ctx, c)

	run := func(t *testing.T, opts LoadOptions, format func(*bytes.Buffer, *Snapshot) error) string {
		t.Helper()
		opts.Namespace = heraldNS
		snap, err := Load(ctx, c, opts)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		var b bytes.Buffer
		if err := format(&b, snap); err != nil {
			t.Fatalf("formatting: %v", err)
		}
		return b.String()
	}
	t.Run("status", func(t *testing.T) {
		out := run(t, LoadOptions{}, func(b *bytes.Buffer, s *Snapshot) error { return FormatStatus(b, s) })
		golden(t, "TestClusterCommands_status", []byte(out))
	})
	for _, svc := range []string{"default/pending", "web/frontend", "web/intranet"} {
		t.Run("why "+svc, func(t *testing.T) {
			out := run(t, LoadOptions{Service: svc, Secrets: true}, func(b *bytes.Buffer, s *Snapshot) error { return FormatWhy(b, s, svc) })
			golden(t, "TestClusterCommands_why_"+strings.ReplaceAll(svc, "/", "_"), []byte(out))
		})
	}
	t.Run("why missing", func(t *testing.T) {
		if _, err := Load(ctx, c, LoadOptions{Namespace: heraldNS, Service: "default/nope"}); err == nil || !strings.Contains(err.Error(), "default/nope") {
			t.Errorf("Load of a missing Service: error %v, want one naming default/nope", err)
		}
	})
	t.Run("diff", func(t *testing.T) {
		diff := func(b *bytes.Buffer, s *Snapshot) error { return FormatDiff(b, s, "node1") }
		out := run(t, LoadOptions{Secrets: true}, diff)
		golden(t, "TestClusterCommands_diff_node1", []byte(out))
		if !strings.Contains(out, "DIFFERENT") {
			t.Errorf("node1 reports hash aaaa, which is not the rendered config's: want a DIFFERENT verdict")
		}
		// The speaker reports the hash of the rendered config: report the
		// expected one and the verdict must turn.
		m := regexp.MustCompile(`(?m)^Expected, rendered now.*\n  hash: +([0-9a-f]{64})$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no expected hash in:\n%s", out)
		}
		var ns v1beta1.NodeState
		if err := c.Get(ctx, client.ObjectKey{Name: "node1"}, &ns); err != nil {
			t.Fatal(err)
		}
		ns.Status.FRR.Hash, ns.Status.FRR.RunningHash = m[1], m[1]
		if err := c.Status().Update(ctx, &ns); err != nil {
			t.Fatal(err)
		}
		out = run(t, LoadOptions{Secrets: true}, diff)
		if !strings.Contains(out, "verdict:      the node runs exactly this config") {
			t.Errorf("after NodeState reports the expected hash, diff says:\n%s", out)
		}
	})
	t.Run("diff unknown node", func(t *testing.T) {
		snap, err := Load(ctx, c, LoadOptions{Namespace: heraldNS})
		if err != nil {
			t.Fatal(err)
		}
		if err := FormatDiff(&bytes.Buffer{}, snap, "node9"); err == nil || !strings.Contains(err.Error(), "node9") {
			t.Errorf("diff of an unknown node: error %v, want one naming node9", err)
		}
	})
}
