package vtysh

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The files under testdata were captured from FRR 8.4.4 (Debian) peering
// with a second FRR 8.4.4 over a veth pair.
func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseBGPSummary(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		want []BGPSession
	}{
		{
			name: "two families, one peer down",
			file: "bgp_summary_established.json",
			want: []BGPSession{
				{VRF: "default", Peer: "198.51.100.1", RemoteAS: 64500, LocalAS: 64512, State: "Established", Established: true,
					Uptime: 12 * time.Second, PrefixesSent: 2, Families: []FamilyCounts{{Family: "ipv4Unicast", Sent: 2}}},
				{VRF: "default", Peer: "198.51.100.99", RemoteAS: 64500, LocalAS: 64512, State: "Active",
					Families: []FamilyCounts{{Family: "ipv4Unicast"}}},
				{VRF: "default", Peer: "2001:db8:100::1", RemoteAS: 64500, LocalAS: 64512, State: "Established", Established: true,
					Uptime: 14 * time.Second, PrefixesSent: 3, Families: []FamilyCounts{{Family: "ipv4Unicast", Sent: 2}, {Family: "ipv6Unicast", Sent: 1}}},
			},
		},
		{name: "bgpd without a router", file: "bgp_summary_empty.json", want: []BGPSession{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBGPSummary(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseBGPSummary(%s) mismatch (-want +got):\n%s", tc.file, diff)
			}
		})
	}
}

func TestParseBGPSummaryRejectsGarbage(t *testing.T) {
	if _, err := ParseBGPSummary([]byte("% Unknown command")); err == nil {
		t.Fatal("ParseBGPSummary accepted a vtysh error message")
	}
}

func TestParseBFDPeers(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		want []BFDPeer
	}{
		{
			name: "up with a 100 ms profile against a 300 ms peer",
			file: "bfd_peers_up.json",
			want: []BFDPeer{{
				Peer: "198.51.100.1", Local: "198.51.100.11", VRF: "default", Interface: "hxcapa0",
				Status: "up", Up: true, Uptime: 10 * time.Second, Diagnostic: "ok",
				Configured:         BFDIntervals{Receive: 100, Transmit: 100, EchoReceive: 50, DetectMultiplier: 3},
				Remote:             BFDIntervals{Receive: 300, Transmit: 300, EchoReceive: 50, DetectMultiplier: 3},
				NegotiatedTransmit: 300, DetectionTime: 900,
			}},
		},
		{name: "none", file: "bfd_peers_none.json", want: []BFDPeer{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBFDPeers(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseBFDPeers(%s) mismatch (-want +got):\n%s", tc.file, diff)
			}
		})
	}
}

func TestParseBFDPeersDown(t *testing.T) {
	got, err := ParseBFDPeers(readTestdata(t, "bfd_peers_down.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Up || got[0].Status != "down" || got[0].Downtime != 3*time.Second ||
		got[0].Diagnostic != "neighbor signaled session down" {
		t.Errorf("ParseBFDPeers(bfd_peers_down.json) = %+v, want one peer down for 3s, signalled down", got)
	}
}

func TestParseAdvertisedRoutes(t *testing.T) {
	lp := uint32(200)
	for _, tc := range []struct {
		name string
		file string
		want []AdvertisedRoute
	}{
		{
			name: "ipv4, one with local-pref",
			file: "advertised_ipv4.json",
			want: []AdvertisedRoute{
				{Prefix: netip.MustParsePrefix("192.0.2.10/32"), NextHop: "0.0.0.0", LocalPref: &lp},
				{Prefix: netip.MustParsePrefix("192.0.2.11/32"), NextHop: "0.0.0.0"},
			},
		},
		{
			name: "ipv6",
			file: "advertised_ipv6.json",
			want: []AdvertisedRoute{{Prefix: netip.MustParsePrefix("2001:db8:200::10/128"), NextHop: "::"}},
		},
		{name: "none", file: "advertised_none.json", want: []AdvertisedRoute{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAdvertisedRoutes(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
				t.Errorf("ParseAdvertisedRoutes(%s) mismatch (-want +got):\n%s", tc.file, diff)
			}
		})
	}
}

func TestParseRejected(t *testing.T) {
	for _, tc := range []struct {
		name           string
		stdout, stderr string
		want           []RejectedLine
	}{
		{
			name:   "vtysh -C -f: parser errors",
			stderr: string(readTestdata(t, "dryrun_rejected.stderr")),
			want: []RejectedLine{
				{Line: 18, Text: "neighbor 198.51.100.99 bogus-keyword 7", Error: "% Unknown command"},
				{Line: 19, Text: "neighbor 198.51.100.77 remote-as 99999999999", Error: "% Unknown command"},
				{Line: 25, Text: "network 192.0.2.300/32", Error: "% Unknown command"},
			},
		},
		{
			name:   "vtysh -f: bgpd refuses two commands",
			stdout: string(readTestdata(t, "apply_rejected.stdout")),
			stderr: string(readTestdata(t, "apply_rejected.stderr")),
			want: []RejectedLine{
				{Line: 2, Text: "neighbor 198.51.100.5 description x", Error: "% Specify remote-as or peer-group commands first"},
				{Line: 5, Text: "router bgp 64999", Error: "BGP is already running; AS is 64512"},
			},
		},
		{
			name:   "daemon messages that do not pair up",
			stdout: "% one\n% two\n% three\n",
			stderr: "line 7: Failure to communicate[13] to bgpd, line:  neighbor x\n",
			want:   []RejectedLine{{Line: 7, Text: "neighbor x", Error: "Failure to communicate to bgpd"}},
		},
		{name: "clean", stdout: "", stderr: "", want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseRejected(tc.stdout, tc.stderr)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseRejected mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
