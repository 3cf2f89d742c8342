package kubectlplugin

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/drill"
)

// drillSnap is three nodes, a pool, an L2Advertisement of it on every node
// (l2) or a BGPAdvertisement and a peer (bgp), and Service default/web at
// 192.0.2.10 on port 8080, announced as the NodeStates say: node2 answers
// in L2 mode, node1 and node3 announce by BGP.
func drillSnap(l2, bgp bool) *Snapshot {
	node := func(n string) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"kubernetes.io/hostname": n}}}
	}
	s := &Snapshot{
		Namespace: "herald-system",
		Nodes:     []corev1.Node{node("node1"), node("node2"), node("node3")},
		Pools: []v1beta1.IPAddressPool{{ObjectMeta: metav1.ObjectMeta{Name: "lab", Namespace: "herald-system"},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"192.0.2.0/26"}}}},
		Services: []corev1.Service{{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
				Ports: []corev1.ServicePort{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}, {Name: "http", Port: 8080}}},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}}},
		}},
		NodeStates: []v1beta1.NodeState{{ObjectMeta: metav1.ObjectMeta{Name: "node1"}}, {ObjectMeta: metav1.ObjectMeta{Name: "node2"}}, {ObjectMeta: metav1.ObjectMeta{Name: "node3"}}},
	}
	if l2 {
		s.L2Advertisements = []v1beta1.L2Advertisement{{ObjectMeta: metav1.ObjectMeta{Name: "l2", Namespace: "herald-system"}}}
		s.NodeStates[1].Status.L2Announcements = []v1beta1.L2Announcement{{IP: "192.0.2.10", Interface: "lan"}}
	}
	if bgp {
		s.Peers = []v1beta1.BGPPeer{{ObjectMeta: metav1.ObjectMeta{Name: "router", Namespace: "herald-system"},
			Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64500, PeerAddress: "198.51.100.1"}}}
		s.BGPAdvertisements = []v1beta1.BGPAdvertisement{{ObjectMeta: metav1.ObjectMeta{Name: "bgp", Namespace: "herald-system"}}}
		for _, i := range []int{0, 2} {
			s.NodeStates[i].Status.BGPAnnouncements = []v1beta1.BGPAnnouncement{{Peer: "198.51.100.1", Prefixes: []string{"192.0.2.10/32"}}}
		}
	}
	return s
}

func TestPlanDrill(t *testing.T) {
	now := time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)
	onlyNode := func(n string) []metav1.LabelSelector {
		return []metav1.LabelSelector{{MatchLabels: map[string]string{"kubernetes.io/hostname": n}}}
	}
	for _, tc := range []struct {
		name       string
		l2, bgp    bool
		mod        func(*Snapshot)
		node, mode string
		ip         string
		want       *DrillPlan
		// wantErr is a substring of the error; refused says it wraps
		// ErrRefused.
		wantErr string
		refused bool
	}{
		{name: "L2: the owner gives it up", l2: true, want: &DrillPlan{Service: "default/web", IP: netip.MustParseAddr("192.0.2.10"), Mode: ModeL2,
			Node: "node2", Announcing: []string{"node2"}, Eligible: []string{"node1", "node2", "node3"}, Others: []string{"node1", "node3"},
			Advertisements: []string{"L2Advertisement l2 selects nodes all"}, Port: 8080}},
		{name: "BGP: the first announcing node", bgp: true, want: &DrillPlan{Service: "default/web", IP: netip.MustParseAddr("192.0.2.10"), Mode: ModeBGP,
			Node: "node1", Announcing: []string{"node1", "node3"}, Eligible: []string{"node1", "node2", "node3"}, Others: []string{"node2", "node3"},
			Advertisements: []string{"BGPAdvertisement bgp selects nodes all"}, Port: 8080}},
		{name: "BGP: --node", bgp: true, node: "node3", want: &DrillPlan{Service: "default/web", IP: netip.MustParseAddr("192.0.2.10"), Mode: ModeBGP,
			Node: "node3", Announcing: []string{"node1", "node3"}, Eligible: []string{"node1", "node2", "node3"}, Others: []string{"node1", "node2"},
			Advertisements: []string{"BGPAdvertisement bgp selects nodes all"}, Port: 8080}},
		{name: "both modes: L2 by default, BGP by --mode", l2: true, bgp: true, mode: ModeBGP, want: &DrillPlan{Service: "default/web",
			IP: netip.MustParseAddr("192.0.2.10"), Mode: ModeBGP, Node: "node1", Announcing: []string{"node1", "node3"},
			Eligible: []string{"node1", "node2", "node3"}, Others: []string{"node2", "node3"},
			Advertisements: []string{"BGPAdvertisement bgp selects nodes all"}, Port: 8080}},
		{name: "single announcer by node selector", l2: true, mod: func(s *Snapshot) { s.L2Advertisements[0].Spec.NodeSelectors = onlyNode("node2") },
			refused: true, wantErr: "192.0.2.10 has a single possible announcer in L2 mode, node node2 (L2Advertisement l2 selects nodes {kubernetes.io/hostname=node2}): a drill would leave it unannounced; select more nodes in the advertisement"},
		{name: "single announcer by Local endpoints", bgp: true, mod: func(s *Snapshot) {
			s.Services[0].Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			n, ready := "node1", true
			s.EndpointSlices = []discoveryv1.EndpointSlice{{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default",
				Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
				Endpoints: []discoveryv1.Endpoint{{NodeName: &n, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}}}
		}, refused: true, wantErr: "externalTrafficPolicy is Local, so only nodes with a ready endpoint may announce it): a drill would leave it unannounced; run endpoints on more nodes"},
		{name: "single announcer by Local endpoints and selector", bgp: true, mod: func(s *Snapshot) {
			s.Services[0].Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.BGPAdvertisements[0].Spec.NodeSelectors = onlyNode("node1")
			n, ready := "node1", true
			s.EndpointSlices = []discoveryv1.EndpointSlice{{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default",
				Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
				Endpoints: []discoveryv1.Endpoint{{NodeName: &n, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}}}
		}, refused: true, wantErr: "a drill would leave it unannounced; select more nodes in the advertisement and run endpoints on them"},
		{name: "node excluded leaves one", bgp: true, mod: func(s *Snapshot) {
			s.Nodes[1].Labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
			s.BGPAdvertisements[0].Spec.NodeSelectors = []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "kubernetes.io/hostname", Operator: metav1.LabelSelectorOpIn, Values: []string{"node1", "node2"}}}}}
		}, refused: true, wantErr: "single possible announcer in BGP mode, node node1"},
		{name: "nobody announces now", l2: true, mod: func(s *Snapshot) { s.NodeStates[1].Status.L2Announcements = nil },
			refused: true, wantErr: "no NodeState shows 192.0.2.10 announced in L2 mode now"},
		{name: "--node not announcing", l2: true, node: "node1", refused: true, wantErr: "node node1 does not announce 192.0.2.10 now (its NodeState; announcing: node2)"},
		{name: "--node not eligible", l2: true, node: "node9", refused: true, wantErr: "node node9 may not announce 192.0.2.10 in L2 mode (the nodes that may: node1, node2, node3)"},
		{name: "a drill in force", l2: true, mod: func(s *Snapshot) {
			s.Services[0].Annotations = map[string]string{drill.Annotation: drill.Drill{Node: "node2", Expiry: now.Add(time.Minute)}.String()}
		}, refused: true, wantErr: "a drill of node node2 holds it until 2026-12-07T19:01:00Z"},
		{name: "an expired drill is no obstacle", l2: true, mod: func(s *Snapshot) {
			s.Services[0].Annotations = map[string]string{drill.Annotation: drill.Drill{Node: "node2", Expiry: now.Add(-time.Minute)}.String()}
		}, want: &DrillPlan{Service: "default/web", IP: netip.MustParseAddr("192.0.2.10"), Mode: ModeL2,
			Node: "node2", Announcing: []string{"node2"}, Eligible: []string{"node1", "node2", "node3"}, Others: []string{"node1", "node3"},
			Advertisements: []string{"L2Advertisement l2 selects nodes all"}, Port: 8080}},
		{name: "shared IP", l2: true, mod: func(s *Snapshot) {
			o := *s.Services[0].DeepCopy()
			o.Name = "web-udp"
			s.Services = append(s.Services, o)
		}, refused: true, wantErr: "192.0.2.10 is shared with Service default/web-udp (allow-shared-ip)"},
		{name: "no IP", l2: true, mod: func(s *Snapshot) { s.Services[0].Status = corev1.ServiceStatus{} }, refused: true, wantErr: "no IP in status.loadBalancer.ingress"},
		{name: "not a LoadBalancer", l2: true, mod: func(s *Snapshot) { s.Services[0].Spec.Type = corev1.ServiceTypeClusterIP }, refused: true, wantErr: "type ClusterIP, not LoadBalancer"},
		{name: "no advertisement", refused: true, wantErr: "no node may announce 192.0.2.10 in L2 mode"},
		{name: "--ip not the Service's", l2: true, ip: "192.0.2.11", wantErr: "--ip 192.0.2.11 is not one of its IPs (192.0.2.10)"},
		{name: "bad --mode", l2: true, mode: "ospf", wantErr: `--mode "ospf": want L2 or BGP`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := drillSnap(tc.l2, tc.bgp)
			if tc.mod != nil {
				tc.mod(s)
			}
			var ip netip.Addr
			if tc.ip != "" {
				ip = netip.MustParseAddr(tc.ip)
			}
			got, err := PlanDrill(s, "default/web", tc.node, ip, tc.mode, now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("PlanDrill error %v, want one containing %q", err, tc.wantErr)
				}
				if errors.Is(err, ErrRefused) != tc.refused {
					t.Errorf("errors.Is(err, ErrRefused) = %v, want %v", !tc.refused, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpAddr); diff != "" {
				t.Errorf("plan mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestSummarize(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)
	// series: "." answered, "x" lost, one every 10ms from t0.
	series := func(s string) []Probe {
		var out []Probe
		for i, c := range s {
			out = append(out, Probe{Sent: t0.Add(time.Duration(i) * 10 * time.Millisecond), OK: c == '.'})
		}
		return out
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		name     string
		probes   string
		from, to time.Duration
		want     Phase
	}{
		{name: "no loss", probes: "..........", to: ms(100), want: Phase{Sent: 10, Recovered: true}},
		{name: "one gap", probes: "...xxx....", to: ms(100), want: Phase{Sent: 10, Lost: 3, Gaps: 1, Outage: ms(30), OutageStart: t0.Add(ms(30)), Recovered: true}},
		{name: "longest of two gaps", probes: ".x..xxxx..", to: ms(100), want: Phase{Sent: 10, Lost: 5, Gaps: 2, Outage: ms(40), OutageStart: t0.Add(ms(40)), Recovered: true}},
		{name: "not recovered: the gap runs to the end", probes: "......xxxx", to: ms(100), want: Phase{Sent: 10, Lost: 4, Gaps: 1, Outage: ms(40), OutageStart: t0.Add(ms(60))}},
		{name: "window", probes: "xx...xx..xx", from: ms(20), to: ms(90), want: Phase{Sent: 7, Lost: 2, Gaps: 1, Outage: ms(20), OutageStart: t0.Add(ms(50)), Recovered: true}},
		{name: "empty window", probes: "....", from: ms(100), to: ms(200), want: Phase{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := series(tc.probes)
			// Out of order: Summarize sorts.
			p[0], p[len(p)-1] = p[len(p)-1], p[0]
			got := Summarize(p, t0.Add(tc.from), t0.Add(tc.to))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Summarize mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFormatDrill prints reports of an L2 and a BGP drill, one coming
// back cleanly and one not; golden files testdata/TestFormatDrill_<name>.golden.
func TestFormatDrill(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, tc := range []struct {
		name string
		r    DrillReport
	}{
		{name: "l2-clean", r: DrillReport{
			Plan: &DrillPlan{Service: "default/web", IP: netip.MustParseAddr("192.0.2.10"), Mode: ModeL2, Node: "node2"},
			From: "network namespace hlab-client", ProbeDesc: "tcp connect to 192.0.2.10:8080 every 10ms (lost after 200ms)",
			Start: t0, Released: at(5100), End: at(7300), Expiry: at(45000), GaveUp: at(420), TakenOver: at(420), TakenOverBy: []string{"node1"},
			Back: at(6200), Drill: Phase{Sent: 510, Lost: 4, Gaps: 1, Outage: 40 * time.Millisecond, OutageStart: at(30), Recovered: true},
			Return: Phase{Sent: 220, Lost: 2, Gaps: 1, Outage: 20 * time.Millisecond, OutageStart: at(5150), Recovered: true}}},
		{name: "bgp-not-back", r: DrillReport{
			Plan: &DrillPlan{Service: "default/web", IP: netip.MustParseAddr("192.0.2.10"), Mode: ModeBGP, Node: "node1"},
			From: "here (where kubectl runs)", ProbeDesc: "icmp echo to 192.0.2.10 every 10ms (lost after 200ms)",
			Start: t0, Released: at(5000), End: at(35000), Expiry: at(45000), GaveUp: at(900), TakenOver: at(900), TakenOverBy: []string{"node2", "node3"},
			Drill: Phase{Sent: 500, Recovered: true}, Return: Phase{Sent: 3000, Lost: 10, Gaps: 1, Outage: 100 * time.Millisecond, OutageStart: at(34900)}}},
		{name: "l2-interrupted", r: DrillReport{
			Plan: &DrillPlan{Service: "default/web", IP: netip.MustParseAddr("192.0.2.10"), Mode: ModeL2, Node: "node2"},
			From: "here (where kubectl runs)", ProbeDesc: "tcp connect to 192.0.2.10:8080 every 10ms (lost after 200ms)",
			Start: t0, Released: at(979), End: at(980), Expiry: at(60000), GaveUp: at(273), TakenOver: at(273), TakenOverBy: []string{"node1"},
			Drill: Phase{Sent: 92, Recovered: true}, Interrupted: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := FormatDrill(&b, &tc.r); err != nil {
				t.Fatal(err)
			}
			golden(t, "TestFormatDrill_"+tc.name, b.Bytes())
		})
	}
}

// TestProberTCP probes a listener on the loopback: probes are answered
// while it listens and lost once it is closed.
func TestProberTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	p, err := StartProber(context.Background(), ProbeTarget{Proto: "tcp", Addr: ap.Addr(), Port: ap.Port(), Every: 10 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	waitProbes := func(n int) {
		for len(p.Probes()) < n {
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitProbes(5)
	closed := time.Now()
	_ = ln.Close()
	waitProbes(len(p.Probes()) + 5)
	probes := p.Stop()
	before := Summarize(probes, time.Time{}, closed)
	after := Summarize(probes, closed.Add(time.Millisecond), time.Now())
	if before.Sent == 0 || before.Lost != 0 {
		t.Errorf("while listening: %+v, want every probe answered", before)
	}
	if after.Sent == 0 || after.Lost != after.Sent {
		t.Errorf("after closing: %+v, want every probe lost", after)
	}
}

// TestWhyDrilled: why names a drill in force as the reason a node does not
// announce a Service, and only while it is in force.
func TestWhyDrilled(t *testing.T) {
	now := time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		node   string
		now    time.Time
		expiry time.Time
		want   bool
	}{
		{"in force", "node2", now, now.Add(time.Minute), true},
		{"another node", "node1", now, now.Add(time.Minute), false},
		{"expired", "node2", now, now.Add(-time.Minute), false},
		{"not judged (zero Now)", "node2", time.Time{}, now.Add(time.Minute), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := drillSnap(true, false)
			s.Now = tc.now
			svc := &s.Services[0]
			svc.Annotations = map[string]string{drill.Annotation: drill.Drill{Node: "node2", Expiry: tc.expiry}.String()}
			got := notAnnouncing(s, svc, tc.node, nil)
			if has := strings.Contains(got, "a drill gives the Service up on this node until"); has != tc.want {
				t.Errorf("notAnnouncing = %q; naming the drill: %v, want %v", got, has, tc.want)
			}
		})
	}
}
