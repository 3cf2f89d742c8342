package planner

import (
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
)

const ns = "herald-system"

func meta(name string, lbls ...string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: name, Namespace: ns}
	if len(lbls) > 0 {
		m.Labels = map[string]string{}
		for i := 0; i+1 < len(lbls); i += 2 {
			m.Labels[lbls[i]] = lbls[i+1]
		}
	}
	return m
}

func node(name string, lbls ...string) corev1.Node {
	m := meta(name, append([]string{"kubernetes.io/hostname", name}, lbls...)...)
	m.Namespace = ""
	return corev1.Node{ObjectMeta: m}
}

func poolObj(name string, addrs ...string) v1beta1.IPAddressPool {
	p := v1beta1.IPAddressPool{ObjectMeta: meta(name)}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, v1beta1.AddressRange(a))
	}
	return p
}

func hostSel(host string) []metav1.LabelSelector {
	return []metav1.LabelSelector{{MatchLabels: map[string]string{"kubernetes.io/hostname": host}}}
}

func peer(name, addr string, myASN, peerASN uint32, mod ...func(*v1beta1.BGPPeerSpec)) v1beta1.BGPPeer {
	p := v1beta1.BGPPeer{ObjectMeta: meta(name), Spec: v1beta1.BGPPeerSpec{
		MyASN: myASN, PeerASN: peerASN, PeerAddress: addr, PeerPort: 179,
		HoldTime: &metav1.Duration{Duration: 9 * time.Second}, KeepaliveTime: &metav1.Duration{Duration: 3 * time.Second},
	}}
	for _, m := range mod {
		m(&p.Spec)
	}
	return p
}

func adv(name string, mod ...func(*v1beta1.BGPAdvertisementSpec)) v1beta1.BGPAdvertisement {
	a := v1beta1.BGPAdvertisement{ObjectMeta: meta(name)}
	for _, m := range mod {
		m(&a.Spec)
	}
	return a
}

func svc(name string, policy corev1.ServiceExternalTrafficPolicy, ips ...string) corev1.Service {
	s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ExternalTrafficPolicy: policy}}
	for _, ip := range ips {
		s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
	}
	return s
}

func slice(svcName string, nodeReady ...any) discoveryv1.EndpointSlice {
	s := discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: svcName + "-x", Namespace: "default",
		Labels: map[string]string{discoveryv1.LabelServiceName: svcName}}}
	for i := 0; i+1 < len(nodeReady); i += 2 {
		n := nodeReady[i].(string)
		r := nodeReady[i+1].(bool)
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{NodeName: &n, Conditions: discoveryv1.EndpointConditions{Ready: &r}})
	}
	return s
}

func u32(v uint32) *uint32 { return &v }
func i32(v int32) *int32   { return &v }

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

func pfxs(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, pfx(s))
	}
	return out
}

// plain advertisements of prefixes with no attributes.
func plain(ss ...string) []frrconfig.Advertisement {
	var out []frrconfig.Advertisement
	for _, s := range ss {
		out = append(out, frrconfig.Advertisement{Prefix: pfx(s)})
	}
	return out
}

// ebgp is the neighbor the fixtures' peer() gives for an eBGP peer.
func ebgp(a string, peerASN string, ads ...frrconfig.Advertisement) frrconfig.Neighbor {
	return frrconfig.Neighbor{Address: addr(a), RemoteAS: peerASN, Timers: &frrconfig.Timers{Keepalive: 3, Hold: 9}, Advertise: ads}
}

// base is a small cluster: three nodes, a dual-stack pool, one eBGP peer
// for every node and one advertisement of every pool to every peer.
func base() Snapshot {
	return Snapshot{
		Namespace:         ns,
		Nodes:             []corev1.Node{node("node1"), node("node2"), node("node3")},
		Pools:             []v1beta1.IPAddressPool{poolObj("lab", "192.0.2.0/26", "2001:db8:200::/64")},
		Peers:             []v1beta1.BGPPeer{peer("router", "198.51.100.1", 64512, 64500)},
		BGPAdvertisements: []v1beta1.BGPAdvertisement{adv("all")},
		Services: []corev1.Service{
			svc("web", corev1.ServiceExternalTrafficPolicyCluster, "192.0.2.10"),
		},
	}
}
