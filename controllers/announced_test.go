package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/apitest"
	"github.com/heraldlb/herald/speaker/planner"
)

// startStatusControllers runs the Announced and BGP status reconcilers
// (not the allocator: the tests write Service IPs themselves).
func stStart(t *testing.T, cfg *rest.Config) {
	t.Helper()
	opts := Options{Namespace: testNS}
	mopts := ManagerOptions(opts)
	mopts.Metrics = metricsserver.Options{BindAddress: "0"}
	skip := true // several tests start the same controllers in one process
	mopts.Controller.SkipNameValidation = &skip
	mgr, err := manager.New(cfg, mopts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := SetupStatusReconcilers(mgr, opts); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

func stCreate(t *testing.T, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// withIP creates a LoadBalancer Service holding ip.
func stWithIP(t *testing.T, c client.Client, name string, policy corev1.ServiceExternalTrafficPolicy, ip string) {
	t.Helper()
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, ExternalTrafficPolicy: policy, Ports: []corev1.ServicePort{{Port: 80}}}}
	stCreate(t, c, s)
	s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
	if err := c.Status().Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls until get's condition matches want (status and reason) and
// returns it.
func stWaitFor(t *testing.T, what string, get func() *metav1.Condition, status metav1.ConditionStatus, reason string) metav1.Condition {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c := get()
		if c != nil && c.Status == status && c.Reason == reason {
			return *c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: condition %+v, want %s %s", what, c, status, reason)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stSvcCondition(c client.Client, name string) func() *metav1.Condition {
	return func() *metav1.Condition {
		var s corev1.Service
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, &s); err != nil {
			return nil
		}
		return meta.FindStatusCondition(s.Status.Conditions, ConditionAnnounced)
	}
}

func stPutNodeState(t *testing.T, c client.Client, name string, st v1beta1.NodeStateStatus) {
	t.Helper()
	ctx := context.Background()
	var ns v1beta1.NodeState
	if err := c.Get(ctx, client.ObjectKey{Name: name}, &ns); err != nil {
		ns = v1beta1.NodeState{ObjectMeta: metav1.ObjectMeta{Name: name}}
		stCreate(t, c, &ns)
	}
	ns.Status = st
	if err := c.Status().Update(ctx, &ns); err != nil {
		t.Fatal(err)
	}
}

func stCluster(t *testing.T, c client.Client) {
	t.Helper()
	for _, n := range []string{"node1", "node2"} {
		stCreate(t, c, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"kubernetes.io/hostname": n}}})
	}
	stCreate(t, c,
		&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "lab", Namespace: testNS},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.0/26"}}},
		&v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "quiet", Namespace: testNS},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"203.0.113.0/28"}}},
		&v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "router", Namespace: testNS},
			Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64500, PeerAddress: "198.51.100.1"}},
		&v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "lab", Namespace: testNS},
			Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{"lab"}}},
	)
}

func TestAnnouncedCondition(t *testing.T) {
	cfg, c := apitest.Start(t)
	apitest.Namespace(t, c, testNS)
	stCluster(t, c)
	stStart(t, cfg)

	stWithIP(t, c, "web", corev1.ServiceExternalTrafficPolicyCluster, "192.0.2.10")
	t.Run("no speaker has reported yet", func(t *testing.T) {
		got := stWaitFor(t, "web", stSvcCondition(c, "web"), metav1.ConditionFalse, ReasonPending)
		if !strings.Contains(got.Message, "node1 (no NodeState yet)") {
			t.Errorf("message %q does not name the silent node", got.Message)
		}
	})

	t.Run("announced by node1 to the router", func(t *testing.T) {
		stPutNodeState(t, c, "node1", v1beta1.NodeStateStatus{
			BGPSessions:      []v1beta1.BGPSessionStatus{{Peer: "198.51.100.1", PeerName: "router", State: "Established"}},
			BGPAnnouncements: []v1beta1.BGPAnnouncement{{Peer: "198.51.100.1", Prefixes: []string{"192.0.2.10/32"}}},
		})
		got := stWaitFor(t, "web", stSvcCondition(c, "web"), metav1.ConditionTrue, ReasonAnnounced)
		if want := "192.0.2.10: BGP from node1 (to router)"; got.Message != want {
			t.Errorf("message %q, want %q", got.Message, want)
		}
	})

	t.Run("L2 too", func(t *testing.T) {
		stPutNodeState(t, c, "node2", v1beta1.NodeStateStatus{L2Announcements: []v1beta1.L2Announcement{{IP: "192.0.2.10", Interface: "eth1"}}})
		deadline := time.Now().Add(15 * time.Second)
		for want := "192.0.2.10: BGP from node1 (to router); L2 from node2 on eth1"; ; {
			got := stSvcCondition(c, "web")()
			if got != nil && got.Message == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("condition %+v, want message %q", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("sessions down", func(t *testing.T) {
		stPutNodeState(t, c, "node2", v1beta1.NodeStateStatus{BGPSessions: []v1beta1.BGPSessionStatus{{Peer: "198.51.100.1", PeerName: "router", State: "Active"}}})
		stPutNodeState(t, c, "node1", v1beta1.NodeStateStatus{BGPSessions: []v1beta1.BGPSessionStatus{{Peer: "198.51.100.1", PeerName: "router", State: "Connect"}}})
		got := stWaitFor(t, "web", stSvcCondition(c, "web"), metav1.ConditionFalse, ReasonSessionsDown)
		for _, s := range []string{"node1 to router (Connect)", "node2 to router (Active)"} {
			if !strings.Contains(got.Message, s) {
				t.Errorf("message %q does not say %q", got.Message, s)
			}
		}
	})

	t.Run("no advertisement selects the pool", func(t *testing.T) {
		stWithIP(t, c, "quiet", corev1.ServiceExternalTrafficPolicyCluster, "203.0.113.5")
		got := stWaitFor(t, "quiet", stSvcCondition(c, "quiet"), metav1.ConditionFalse, planner.ReasonNoAdvertisement)
		if !strings.Contains(got.Message, "pool quiet") {
			t.Errorf("message %q does not name the pool", got.Message)
		}
	})

	t.Run("Local without a ready endpoint, then with one", func(t *testing.T) {
		stWithIP(t, c, "local", corev1.ServiceExternalTrafficPolicyLocal, "192.0.2.20")
		stWaitFor(t, "local", stSvcCondition(c, "local"), metav1.ConditionFalse, planner.ReasonNoReadyEndpoint)
		node, ready := "node2", true
		stCreate(t, c, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "local-1", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "local"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"198.51.100.200"}, NodeName: &node, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		})
		// node2's session is down: the reason moves on from endpoints.
		stWaitFor(t, "local", stSvcCondition(c, "local"), metav1.ConditionFalse, ReasonSessionsDown)
	})
}
