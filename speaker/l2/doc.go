// Package l2 announces Service IPs on the LAN the Layer 2 way: this node
// answers ARP requests (IPv4) and Neighbor Solicitations (IPv6) for the IPs
// it owns, with the MAC of the interface the request came in on, and sends
// gratuitous ARP and unsolicited Neighbor Advertisements when it takes an IP
// over.
//
// The pieces, from the wire up:
//
//   - ARPResponder and NDPResponder answer on one interface for a set of IPs.
//     ListenARP and ListenNDP open raw sockets; NewARPResponder and
//     NewNDPResponder take any connection, so they are tested without root.
//   - SelectInterfaces (pure) and InterfaceWatcher choose the interfaces to
//     answer on and follow links appearing, disappearing and going down.
//   - Announcer keeps one responder pair per chosen interface answering for
//     exactly the IPs this node owns, and sends the takeover burst.
//   - Coordinator turns the Services (IP, eligible nodes, interfaces) and the
//     live nodes into the IPs this node owns, with package owner (Plan is the
//     pure part), and hands them to the Announcer.
//   - Node wires membership (package member), a Coordinator and an Announcer
//     together: a node whose default interfaces are all down says it is not
//     ready so the others take over, and on shutdown it stops answering
//     before it leaves the cluster.
//
// Liveness between nodes is package member; which node owns an IP is package
// owner. Nothing here talks to the API server: the caller passes plain values.
package l2
