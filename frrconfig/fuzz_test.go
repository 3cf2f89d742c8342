package frrconfig

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// frrLine is every form of line Render may print, with \S+ where a value
// goes. A value that held a space, a newline or a second command would
// print a line that matches none of them.
var frrLine = regexp.MustCompile(`^(?:` + strings.Join([]string{
	`frr defaults traditional`,
	`log stdout(?: \S+)?`,
	`bgp route-map delay-timer \d+`,
	` ?!`,
	`router bgp \d+(?: vrf \S+)?`,
	` bgp router-id \S+`,
	` no bgp default ipv4-unicast`,
	` no bgp network import-check`,
	` neighbor \S+ (?:interface )?remote-as \S+`,
	` neighbor \S+ bfd(?: profile \S+)?`,
	` neighbor \S+ password \S+`,
	` neighbor \S+ (?:port|ebgp-multihop|timers connect) \d+`,
	` neighbor \S+ update-source \S+`,
	` neighbor \S+ timers \d+ \d+`,
	` neighbor \S+ graceful-restart`,
	` address-family ipv[46] unicast`,
	`  network \S+(?: route-map herald-class-\d+)?`,
	`  neighbor \S+ activate`,
	`  neighbor \S+ route-map \S+ (?:in|out)`,
	` exit-address-family`,
	`route-map \S+ (?:permit|deny) \d+`,
	` match tag \d+`,
	` set tag \d+`,
	` set community (?:\d+:\d+|no-export|no-advertise|local-AS|no-peer|blackhole|graceful-shutdown)(?: (?:\d+:\d+|no-export|no-advertise|local-AS|no-peer|blackhole|graceful-shutdown))*`,
	` set large-community \d+:\d+:\d+(?: \d+:\d+:\d+)*`,
	` set local-preference \d+`,
	`bfd`,
	` profile \S+`,
	`  (?:detect-multiplier|transmit-interval|receive-interval|echo transmit-interval|echo receive-interval|minimum-ttl) \d+`,
	`  (?:passive-mode|echo-mode)`,
	` ?exit`,
	`end`,
}, "|") + `)$`)

// fuzzConfig puts the fuzzed strings in every string field of a config.
func fuzzConfig(logLevel, vrf, iface, remoteAS, password, updateSource, profile, community, large string) *Config {
	return &Config{
		LogLevel:    logLevel,
		BFDProfiles: []BFDProfile{{Name: profile, EchoMode: true}},
		Routers: []Router{{
			ASN: 64512, VRF: vrf, RouterID: addr("198.51.100.11"),
			IPv4Networks: pfxs("192.0.2.10/32"),
			Neighbors: []Neighbor{
				{Address: addr("198.51.100.1"), RemoteAS: remoteAS, Password: password, UpdateSource: updateSource,
					BFD: true, BFDProfile: profile, Advertise: []Advertisement{{
						Prefix: pfx("192.0.2.10/32"), Communities: []string{community, "65000:1"}, LargeCommunities: []string{large},
					}}},
				{Interface: iface, RemoteAS: "external", Password: password, Advertise: advs("192.0.2.10/32")},
			},
		}},
	}
}

// FuzzRender checks that no string in the model can add a line or a word
// to frr.conf: when Render accepts the strings, its output has exactly as
// many lines as with plain placeholder values, every line has one of the
// forms Render prints, and each value is printed whole where it belongs.
func FuzzRender(f *testing.F) {
	valid := []string{"informational", "red", "eth0", "64513", "s3cret", "198.51.100.11", "fast", "65000:2", "1:2:3"}
	f.Add(valid[0], valid[1], valid[2], valid[3], valid[4], valid[5], valid[6], valid[7], valid[8])
	f.Add("", "", "eth0", "external", "", "", "p", "no-export", "4294967295:0:1")
	f.Add("debugging", "blue", "eth1", "internal", "a!#b\\{}", "eth0", "p.1_x", "graceful-shutdown", "0:0:0")
	// Each hostile value alone in an otherwise valid config, so that each
	// validator is exercised by the seeds.
	hostile := [][]string{
		{"informational\nline vty", "debugging extra", "", "0"},
		{"red\n!", "vrf default", "default", "r e d", "ré", "red\r", strings.Repeat("v", 16)},
		{"eth0 interface", "eth0\n neighbor 192.0.2.66 remote-as 1", "192.0.2.1", "-x", "e\t"},
		{"64513\n neighbor 192.0.2.66 remote-as 1", "0", "+64513", "4294967296", "external ", "064513"},
		{"pw\n neighbor 192.0.2.66 remote-as 1", "pw with space", "!pw", "#pw", strings.Repeat("x", 81), "pw\x7f", "pé"},
		{"198.51.100.11 extra", "2001:db8::1%eth0", "::ffff:192.0.2.1", "192.0.2.1\n", "eth0\nexit"},
		{"fast\nexit", "prof ile", strings.Repeat("p", 65), "-p", "p\x00"},
		{"65000:1 no-export", "65535:1", "0:0", "65536:1", "01:2", "no-export\n", "internet"},
		{"1:2:3\n", "1:2", "1:2:3 4:5:6", "1:2:4294967296", "01:2:3"},
	}
	for i, values := range hostile {
		for _, v := range values {
			a := slices.Clone(valid)
			a[i] = v
			f.Add(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8])
		}
	}
	f.Fuzz(func(t *testing.T, logLevel, vrf, iface, remoteAS, password, updateSource, profile, community, large string) {
		c := fuzzConfig(logLevel, vrf, iface, remoteAS, password, updateSource, profile, community, large)
		out, err := Render(c)
		if err != nil {
			return // rejected: nothing reaches the file
		}
		or := func(v, placeholder string) string {
			if v == "" {
				return ""
			}
			return placeholder
		}
		ref, err := Render(fuzzConfig(or(logLevel, "warnings"), or(vrf, "vrfx"), "ifx", or(remoteAS, "64600"),
			or(password, "pw"), or(updateSource, "198.51.100.12"), "prof", "65000:2", "1:2:3"))
		if err != nil {
			t.Fatalf("placeholder config rejected: %v", err)
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		refLines := strings.Split(strings.TrimSuffix(string(ref), "\n"), "\n")
		if len(lines) != len(refLines) {
			t.Fatalf("%d lines, want %d as with placeholder values:\n%s", len(lines), len(refLines), out)
		}
		for i, l := range lines {
			if !frrLine.MatchString(l) {
				t.Fatalf("line %d %q is not a line Render prints:\n%s", i+1, l, out)
			}
		}
		text := string(out)
		want := []string{
			"\n neighbor 198.51.100.1 remote-as " + remoteAS + "\n",
			"\n neighbor " + iface + " interface remote-as external\n",
			"\n neighbor 198.51.100.1 bfd profile " + profile + "\n",
			"\n profile " + profile + "\n",
		}
		if vrf != "" {
			want = append(want, "\nrouter bgp 64512 vrf "+vrf+"\n", "route-map "+iface+"@"+vrf+"-in deny 1\n")
		}
		if password != "" {
			want = append(want, "\n neighbor 198.51.100.1 password "+password+"\n", "\n neighbor "+iface+" password "+password+"\n")
		}
		if updateSource != "" {
			want = append(want, "\n neighbor 198.51.100.1 update-source "+updateSource+"\n")
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	})
}
