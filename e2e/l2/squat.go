package l2

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"

	"github.com/heraldlb/herald/e2e/lab"
)

// Squat makes the lab's client hold ip, as a host configured with a
// Service's address by mistake does: the address on its LAN link (IPv6
// without duplicate address detection, which herald's answer would fail),
// then one unsolicited claim of it (Claim). It returns the client's MAC.
func Squat(ctx context.Context, l *lab.Lab, ip netip.Addr) (string, error) {
	if err := AddSquat(ctx, l, ip); err != nil {
		return "", err
	}
	if err := Claim(l, ip); err != nil {
		return "", err
	}
	return ClientMAC(ctx, l)
}

// AddSquat puts ip on the client's LAN link, claiming nothing: the
// client's kernel answers ARP probes and duplicate address detection for
// it from then on.
func AddSquat(ctx context.Context, l *lab.Lab, ip netip.Addr) error {
	args := []string{"ip", "addr", "add", ip.String() + "/32", "dev", LANLink}
	if ip.Is6() {
		args = []string{"ip", "-6", "addr", "add", ip.String() + "/128", "dev", LANLink, "nodad"}
	}
	if out, err := l.Exec(ctx, lab.ClientName, args...); err != nil {
		return fmt.Errorf("adding %s to the client: %s: %w", ip, out, err)
	}
	return nil
}

// Claim sends from the client's LAN link one unsolicited claim of ip: a
// gratuitous ARP request (sender and target ip, to broadcast) for IPv4, an
// unsolicited Neighbor Advertisement with the override flag and the
// client's MAC (from ip, to all nodes) for IPv6. ip must be on the link
// (AddSquat).
func Claim(l *lab.Lab, ip netip.Addr) error {
	err := inNetns(l, lab.ClientName, func() error {
		ifi, err := net.InterfaceByName(LANLink)
		if err != nil {
			return err
		}
		if ip.Is4() {
			c, err := arp.Dial(ifi)
			if err != nil {
				return err
			}
			defer c.Close()
			p, err := arp.NewPacket(arp.OperationRequest, ifi.HardwareAddr, ip, ethernet.Broadcast, ip)
			if err != nil {
				return err
			}
			return c.WriteTo(p, ethernet.Broadcast)
		}
		c, _, err := ndp.Listen(ifi, ndp.Addr(ip.String()))
		if err != nil {
			return err
		}
		defer c.Close()
		na := &ndp.NeighborAdvertisement{Override: true, TargetAddress: ip,
			Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: ifi.HardwareAddr}}}
		return c.WriteTo(na, nil, netip.IPv6LinkLocalAllNodes().WithZone(LANLink))
	})
	if err != nil {
		return fmt.Errorf("claiming %s from the client: %w", ip, err)
	}
	return nil
}

// Unsquat removes ip from the client's LAN link; an ip not there is no
// error.
func Unsquat(ctx context.Context, l *lab.Lab, ip netip.Addr) error {
	bits := "/32"
	if ip.Is6() {
		bits = "/128"
	}
	out, err := l.Exec(ctx, lab.ClientName, "ip", "addr", "del", ip.String()+bits, "dev", LANLink)
	if err == nil {
		return nil
	}
	// iproute says "Address not found" (IPv4), "address not found" (IPv6),
	// or, older, "Cannot assign requested address".
	if msg := strings.ToLower(out + err.Error()); strings.Contains(msg, "address not found") || strings.Contains(msg, "cannot assign") {
		return nil
	}
	return fmt.Errorf("removing %s from the client: %s: %w", ip, out, err)
}

// ClientMAC is the MAC of the client's LAN link.
func ClientMAC(ctx context.Context, l *lab.Lab) (string, error) {
	out, err := l.Exec(ctx, lab.ClientName, "cat", "/sys/class/net/"+LANLink+"/address")
	if err != nil {
		return "", fmt.Errorf("reading the client's MAC: %s: %w", out, err)
	}
	return strings.TrimSpace(out), nil
}
