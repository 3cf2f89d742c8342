package l2lab

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Lab is a switch, n nodes and a client, each in its own namespace.
type Lab struct {
	// Prefix starts every namespace and link name the lab made.
	Prefix string
	Nodes  []Host
	Client Host
	sw     string
}

// Host is a namespace plugged into the switch by its eth0.
type Host struct {
	Name   string // node name ("node-1") or "client"
	NS     string
	Port   string // the switch port (in the switch namespace)
	MAC    net.HardwareAddr
	IPv4   string
	IPv6   string
	Prefix string
}

// NodeMAC is the MAC of node i's eth0 (1-based).
func NodeMAC(i int) net.HardwareAddr { return net.HardwareAddr{0x02, 0, 0, 0, 0, byte(0x10 + i)} }

// ClientMAC returns the client's MAC.
func ClientMAC() net.HardwareAddr { return net.HardwareAddr{0x02, 0, 0, 0, 0, 0x64} }

// New builds a lab with n nodes (at most 9) under a random prefix. Close
// removes it, also after a failed New.
func New(n int) (*Lab, error) {
	if n < 1 || n > 9 {
		return nil, fmt.Errorf("l2lab: %d nodes; use 1 to 9", n)
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("l2lab: naming: %w", err)
	}
	p := "hl2" + hex.EncodeToString(b[:]) // 9 characters, names ≤ 15
	l := &Lab{Prefix: p, sw: p + "-sw"}
	for i := 1; i <= n; i++ {
		l.Nodes = append(l.Nodes, Host{
			Name: fmt.Sprintf("node-%d", i), NS: fmt.Sprintf("%s-n%d", p, i), Port: fmt.Sprintf("p%d", i),
			MAC: NodeMAC(i), IPv4: fmt.Sprintf("198.51.100.%d", 10+i), IPv6: fmt.Sprintf("2001:db8:100::%d", 10+i),
		})
	}
	l.Client = Host{Name: "client", NS: p + "-c", Port: "pc", MAC: ClientMAC(), IPv4: "198.51.100.100", IPv6: "2001:db8:100::100"}
	if err := l.build(); err != nil {
		return l, errors.Join(err, l.Close())
	}
	return l, nil
}

func (l *Lab) build() error {
	if err := run("ip", "netns", "add", l.sw); err != nil {
		return err
	}
	if err := runAll(
		[]string{"ip", "-n", l.sw, "link", "add", "br0", "type", "bridge"},
		[]string{"ip", "-n", l.sw, "link", "set", "br0", "up"},
	); err != nil {
		return err
	}
	for i, h := range append(slices.Clone(l.Nodes), l.Client) {
		a, b := fmt.Sprintf("%sa%d", l.Prefix, i), fmt.Sprintf("%sb%d", l.Prefix, i)
		if err := run("ip", "netns", "add", h.NS); err != nil {
			return err
		}
		if err := runAll(
			[]string{"ip", "link", "add", a, "type", "veth", "peer", "name", b},
			[]string{"ip", "link", "set", a, "netns", h.NS},
			[]string{"ip", "link", "set", b, "netns", l.sw},
			[]string{"ip", "-n", h.NS, "link", "set", a, "name", "eth0", "address", h.MAC.String()},
			[]string{"ip", "-n", l.sw, "link", "set", b, "name", h.Port, "master", "br0", "up"},
			[]string{"ip", "netns", "exec", h.NS, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0"},
			[]string{"ip", "-n", h.NS, "link", "set", "lo", "up"},
			[]string{"ip", "-n", h.NS, "link", "set", "eth0", "up"},
			[]string{"ip", "-n", h.NS, "addr", "add", h.IPv4 + "/24", "dev", "eth0"},
			[]string{"ip", "-n", h.NS, "addr", "add", h.IPv6 + "/64", "dev", "eth0", "nodad"},
		); err != nil {
			return err
		}
	}
	return runAll(
		[]string{"ip", "-n", l.Client.NS, "route", "add", "192.0.2.0/24", "dev", "eth0"},
		[]string{"ip", "-n", l.Client.NS, "route", "add", "2001:db8:200::/64", "dev", "eth0"},
	)
}

// Close removes every namespace of the lab (their links go with them).
func (l *Lab) Close() error {
	var errs []error
	for _, ns := range append(l.namespaces(), l.sw) {
		if err := exec.Command("ip", "netns", "del", ns).Run(); err != nil {
			if out, _ := exec.Command("ip", "netns", "list").Output(); bytes.Contains(out, []byte(ns)) {
				errs = append(errs, fmt.Errorf("removing namespace %s: %w", ns, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (l *Lab) namespaces() []string {
	var out []string
	for _, h := range l.Nodes {
		out = append(out, h.NS)
	}
	return append(out, l.Client.NS)
}

// Cut takes node i's switch port down (0-based), as pulling its cable would:
// the node's eth0 loses its carrier.
func (l *Lab) Cut(i int) error {
	return run("ip", "-n", l.sw, "link", "set", l.Nodes[i].Port, "down")
}

// Restore brings node i's switch port back up.
func (l *Lab) Restore(i int) error {
	return run("ip", "-n", l.sw, "link", "set", l.Nodes[i].Port, "up")
}

var macRE = regexp.MustCompile(`(?i)\b([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b`)

// Arping sends count ARP requests for ip from the client, waitSec apart,
// and returns the MAC of every reply, in order.
func (l *Lab) Arping(ip string, count int, waitSec float64) ([]string, error) {
	out, err := exec.Command("ip", "netns", "exec", l.Client.NS, "arping", "-i", "eth0", "-r",
		"-c", fmt.Sprint(count), "-W", fmt.Sprint(waitSec), ip).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) { // exit 1: no reply
		return nil, fmt.Errorf("arping %s: %w: %s", ip, err, out)
	}
	return macRE.FindAllString(string(out), -1), nil
}

// Ndisc sends Neighbor Solicitations for ip from the client and returns the
// target MAC of every advertisement received within waitMS.
func (l *Lab) Ndisc(ip string, waitMS int) ([]string, error) {
	out, err := exec.Command("ip", "netns", "exec", l.Client.NS, "ndisc6", "-m", "-n", "-r", "1",
		"-w", fmt.Sprint(waitMS), ip, "eth0").CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, fmt.Errorf("ndisc6 %s: %w: %s", ip, err, out)
	}
	var macs []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "link-layer address") {
			macs = append(macs, macRE.FindAllString(line, -1)...)
		}
	}
	return macs, nil
}

// ClientNeighbor returns the MAC the client's kernel holds for ip, "" if none.
func (l *Lab) ClientNeighbor(ip string) (string, error) {
	out, err := exec.Command("ip", "-n", l.Client.NS, "neigh", "show", ip, "dev", "eth0").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("reading the client's neighbor table: %w: %s", err, out)
	}
	return macRE.FindString(string(out)), nil
}

// NodeGroups returns the IPv6 multicast groups node i's eth0 has joined.
func (l *Lab) NodeGroups(i int) ([]string, error) {
	out, err := exec.Command("ip", "-n", l.Nodes[i].NS, "-6", "maddr", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("listing multicast groups of %s: %w: %s", l.Nodes[i].Name, err, out)
	}
	var groups []string
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "ff") {
			groups = append(groups, f)
		}
	}
	return groups, nil
}

// ClientExec runs a command in the client namespace.
func (l *Lab) ClientExec(args ...string) ([]byte, error) {
	return exec.Command("ip", append([]string{"netns", "exec", l.Client.NS}, args...)...).CombinedOutput()
}

func run(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func runAll(cmds ...[]string) error {
	for _, c := range cmds {
		if err := run(c...); err != nil {
			return err
		}
	}
	return nil
}

// ClientNUD makes the client confirm that mac still answers for the IPv6
// address ip the way a kernel does for a neighbor it has used: a stale
// entry, a packet sent, then unicast Neighbor Solicitations to ip at mac
// (neighbor unreachability detection). It returns the entry's final state:
// REACHABLE if an advertisement came back, FAILED if none did.
func (l *Lab) ClientNUD(ip, mac string) (string, error) {
	if err := runAll(
		[]string{"ip", "netns", "exec", l.Client.NS, "sysctl", "-qw", "net.ipv6.neigh.eth0.delay_first_probe_time=1"},
		[]string{"ip", "-n", l.Client.NS, "-6", "neigh", "replace", ip, "lladdr", mac, "dev", "eth0", "nud", "stale"},
	); err != nil {
		return "", err
	}
	// No echo reply comes (the nodes only answer NDP for the IP); the packet
	// moves the entry to DELAY, then PROBE.
	_, _ = l.ClientExec("ping", "-6", "-c", "1", "-W", "1", ip)
	var state string
	for try := 0; try < 60; try++ {
		out, err := exec.Command("ip", "-n", l.Client.NS, "-6", "neigh", "show", ip, "dev", "eth0").CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("reading the client's neighbor table: %w: %s", err, out)
		}
		f := strings.Fields(string(out))
		if len(f) == 0 {
			return "", fmt.Errorf("the client has no neighbor entry for %s", ip)
		}
		state = f[len(f)-1]
		if state == "REACHABLE" || state == "FAILED" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return state, nil
}
