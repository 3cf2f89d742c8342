package owner

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
)

// Weight is the rendezvous weight of node for ip. The node with the highest
// weight among the live, eligible nodes owns the IP. It depends only on its
// arguments, so every node computes the same value.
func Weight(ip netip.Addr, node string) uint64 {
	h := sha256.New()
	b := ip.Unmap().As16()
	h.Write(b[:])
	h.Write([]byte{0})
	h.Write([]byte(node))
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

// Owner returns the node among nodes with the highest weight for ip, ties
// going to the smallest name, or "" when nodes is empty. The order of nodes
// does not matter.
func Owner(ip netip.Addr, nodes []string) string {
	var best string
	var bestW uint64
	for i, n := range nodes {
		w := Weight(ip, n)
		if i == 0 || w > bestW || (w == bestW && n < best) {
			best, bestW = n, w
		}
	}
	return best
}

// Assign returns the owner of each IP of eligible (IP → the nodes allowed to
// answer for it) among the nodes in live. IPs with no live eligible node are
// left out.
func Assign(eligible map[netip.Addr][]string, live []string) map[netip.Addr]string {
	alive := make(map[string]bool, len(live))
	for _, n := range live {
		alive[n] = true
	}
	out := make(map[netip.Addr]string, len(eligible))
	cand := make([]string, 0, len(live))
	for ip, nodes := range eligible {
		cand = cand[:0]
		for _, n := range nodes {
			if alive[n] {
				cand = append(cand, n)
			}
		}
		if o := Owner(ip, cand); o != "" {
			out[ip] = o
		}
	}
	return out
}
