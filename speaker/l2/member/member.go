package member

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/hashicorp/memberlist"
)

// Member is this node's membership in the cluster of speakers.
type Member struct {
	cfg  Config
	list *memberlist.Memberlist
	self string // this node's advertised "ip:port"

	changed chan struct{} // memberlist events, coalesced

	notifyMu sync.Mutex // one OnChange call at a time

	// nodes is copied from memberlist's events (which hold memberlist's
	// lock): the *Node values memberlist hands out change under its lock.
	nodesMu sync.Mutex
	nodes   map[string]nodeInfo
	pings   sync.WaitGroup // direct pings of nodes declared dead

	mu         sync.Mutex
	wantReady  bool      // what SetReady last said
	readySince time.Time // when wantReady last became true
	ready      bool      // what the metadata says
	readyAt    time.Time // when ready last became true
	// countedSince is readyAt once this node has counted itself since then.
	countedSince time.Time
	leaving      bool
	lastLive     []string
	lastChanged  bool
	// applied is the live set OnChange last returned from (the IPs it
	// implies are answered as it says), as ackPayload encodes it: sent in
	// acks, so that a node becoming ready learns when the others count it.
	applied []byte

	keyring  *memberlist.Keyring // nil: plain text
	rotation *rotation

	// macs are this node's interfaces' MACs, sent in its metadata after
	// the readiness flag (see SetMACs).
	macs []net.HardwareAddr
}

// New creates the memberlist (binding its port) and tries the peers once;
// Run keeps it going. The node starts not ready: call SetReady(true) once it
// can answer (its interfaces are up).
func New(cfg Config) (*Member, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Member{cfg: cfg, changed: make(chan struct{}, 1), nodes: map[string]nodeInfo{}}

	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Name
	mc.BindAddr = cfg.BindAddr
	if mc.BindAddr == "" {
		mc.BindAddr = "0.0.0.0"
	}
	mc.BindPort = cfg.BindPort
	mc.AdvertiseAddr = cfg.AdvertiseAddr
	mc.AdvertisePort = cfg.AdvertisePort
	if mc.AdvertisePort == 0 {
		mc.AdvertisePort = cfg.BindPort
	}
	mc.ProbeInterval = cfg.ProbeInterval
	mc.ProbeTimeout = cfg.ProbeTimeout
	mc.SuspicionMult = cfg.SuspicionMult
	mc.SuspicionMaxTimeoutMult = cfg.SuspicionMaxTimeoutMult
	mc.AwarenessMaxMultiplier = cfg.AwarenessMaxMultiplier
	mc.GossipInterval = cfg.GossipInterval
	mc.PushPullInterval = cfg.PushPullInterval
	mc.TCPTimeout = time.Second
	mc.DeadNodeReclaimTime = 5 * time.Second // a speaker restarted on a new address may take its name back
	mc.Delegate = delegate{m}
	mc.Events = events{m}
	mc.Ping = pings{m}
	mc.Logger = log.New(logWriter{cfg.Log.WithName("memberlist")}, "", 0)
	if len(cfg.Keys) > 0 {
		kr, err := memberlist.NewKeyring(cfg.Keys, cfg.Keys[0])
		if err != nil {
			return nil, fmt.Errorf("member config: keys: %w", err)
		}
		mc.Keyring = kr
		m.keyring = kr
	}
	list, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("starting memberlist on %s:%d: %w", mc.BindAddr, mc.BindPort, err)
	}
	m.list = list
	m.self = list.LocalNode().Address()
	m.join()
	return m, nil
}

// Run rejoins absent peers, moves readiness along and calls OnChange until
// ctx is cancelled. It does not leave the cluster: call Leave.
func (m *Member) Run(ctx context.Context) {
	// Joining an unreachable peer blocks for a TCP timeout: not in the loop
	// that moves readiness along.
	joined := make(chan struct{})
	go func() {
		defer close(joined)
		rejoin := time.NewTicker(m.cfg.RejoinInterval)
		defer rejoin.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-rejoin.C:
				m.join()
			}
		}
	}()
	defer func() { <-joined }()
	defer m.pings.Wait()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			m.updateReady()
			m.pingDead()
			m.rotate()
		case <-m.changed:
			m.updateReady()
		}
		m.notify()
	}
}

// ErrPlainText is returned by SetKeys on a member started without keys:
// memberlist cannot start encrypting while it runs.
var ErrPlainText = errors.New("membership runs in plain text: restart with keys to encrypt it")

// rotation is a key change under way.
type rotation struct {
	keys          [][]byte // keys[0] is the new primary
	useAt, dropAt time.Time
	used          bool
}

// SetKeys replaces the keys (as Config.Keys: the first sends, all are
// accepted) without a restart, in steps that keep a cluster whose members
// learn the new keys a little apart (each speaker reads the Secret itself)
// talking: every key listed is accepted at once; the first is sent with
// after KeyGrace, by when every member should accept it; keys not listed
// stop being accepted after another KeyGrace, by when every member sends
// with the new one.
func (m *Member) SetKeys(keys [][]byte) error {
	if m.keyring == nil {
		return ErrPlainText
	}
	if len(keys) == 0 {
		return errors.New("member keys: none given; membership cannot stop encrypting while it runs")
	}
	for i, k := range keys {
		if l := len(k); l != 16 && l != 24 && l != 32 {
			return fmt.Errorf("member keys: key %d is %d bytes; memberlist keys must be 16, 24 or 32 bytes (AES-128/192/256)", i, l)
		}
	}
	cur := m.keyring.GetKeys()
	if bytes.Equal(m.keyring.GetPrimaryKey(), keys[0]) && len(cur) == len(keys) &&
		!slices.ContainsFunc(keys, func(k []byte) bool {
			return !slices.ContainsFunc(cur, func(c []byte) bool { return bytes.Equal(c, k) })
		}) {
		return nil // nothing changes
	}
	for _, k := range keys {
		if err := m.keyring.AddKey(k); err != nil {
			return fmt.Errorf("member keys: %w", err)
		}
	}
	now := time.Now()
	m.mu.Lock()
	m.rotation = &rotation{keys: slices.Clone(keys), useAt: now.Add(m.cfg.KeyGrace), dropAt: now.Add(2 * m.cfg.KeyGrace)}
	m.mu.Unlock()
	m.cfg.Log.Info("membership keys changing", "sendWithNewKeyIn", m.cfg.KeyGrace, "keys", len(keys))
	return nil
}

// rotate moves a key change along (see SetKeys).
func (m *Member) rotate() {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rotation
	if r == nil {
		return
	}
	now := time.Now()
	if !r.used && !now.Before(r.useAt) {
		if err := m.keyring.UseKey(r.keys[0]); err != nil {
			m.cfg.Log.Error(err, "sending with the new membership key")
		}
		r.used = true
	}
	if r.used && !now.Before(r.dropAt) {
		for _, k := range m.keyring.GetKeys() {
			if !slices.ContainsFunc(r.keys, func(x []byte) bool { return bytes.Equal(x, k) }) {
				if err := m.keyring.RemoveKey(k); err != nil {
					m.cfg.Log.Error(err, "dropping an old membership key")
				}
			}
		}
		m.rotation = nil
		m.cfg.Log.Info("membership keys changed")
	}
}

// pingDead pings, directly, each node declared dead that has not been
// silent for Silence yet, one ping in flight per node: an ack means the node
// is alive (a dead message on another node's stale word), and it keeps
// counting until it refutes. A node really gone does not ack, and stops
// counting once it has been silent for Silence.
func (m *Member) pingDead() {
	now := time.Now()
	m.nodesMu.Lock()
	defer m.nodesMu.Unlock()
	for name, n := range m.nodes {
		if !n.dead || n.pinging || now.Sub(n.heard) >= m.cfg.Silence {
			continue
		}
		ap, err := netip.ParseAddrPort(n.addr)
		if err != nil {
			continue
		}
		n.pinging = true
		m.nodes[name] = n
		m.pings.Add(1)
		go func() {
			defer m.pings.Done()
			_, err := m.list.Ping(name, net.UDPAddrFromAddrPort(ap))
			m.nodesMu.Lock()
			defer m.nodesMu.Unlock()
			cur, ok := m.nodes[name]
			if !ok {
				return
			}
			cur.pinging = false
			if err == nil && cur.dead {
				cur.heard = time.Now()
			}
			m.nodes[name] = cur
		}()
	}
}

// SetReady says whether this node can answer (its announcing interfaces are
// up). Not ready takes effect at once, locally and in a broadcast; ready
// only after Settle, once another node is seen alive (or after AloneAfter).
func (m *Member) SetReady(ready bool) {
	m.mu.Lock()
	if ready && !m.wantReady {
		m.readySince = time.Now()
	}
	m.wantReady = ready
	m.mu.Unlock()
	m.updateReady()
	m.notify()
}

// Live returns the nodes alive and ready, sorted. This node counts only once
// it has been ready for Handoff and every other live node has acked a probe
// saying it counts this node (so that the nodes answering for its IPs until
// then have stopped), or HandoffWait has passed. Suspected nodes still
// count: only a node that left or said it is not ready stops counting at
// once; one declared dead, once it has been silent to this node for
// Silence.
func (m *Member) Live() []string {
	m.mu.Lock()
	readyAt := m.readyAt
	selfReady := m.ready && !m.leaving && time.Since(readyAt) >= m.cfg.Handoff
	counted := m.countedSince.Equal(readyAt)
	m.mu.Unlock()
	var out []string
	unconfirmed := false
	now := time.Now()
	m.nodesMu.Lock()
	for name, n := range m.nodes {
		if name != m.cfg.Name && n.ready && (!n.dead || now.Sub(n.heard) < m.cfg.Silence) {
			out = append(out, name)
			if !n.countsMe.After(readyAt) {
				unconfirmed = true
			}
		}
	}
	m.nodesMu.Unlock()
	if selfReady && (counted || !unconfirmed || time.Since(readyAt) >= m.cfg.HandoffWait) {
		out = append(out, m.cfg.Name)
		if !counted {
			// Counted from now until it is next not ready: a node joining
			// later does not make it wait again.
			m.mu.Lock()
			if m.readyAt.Equal(readyAt) {
				m.countedSince = readyAt
			}
			m.mu.Unlock()
		}
	}
	slices.Sort(out)
	return out
}

// SetMACs sets the MACs of this node's interfaces, which the other nodes
// learn from its metadata (PeerMACs): they are herald's, not another
// host's, when a node sees them answer for a Service IP (conflict
// detection). At most maxMACs are sent.
func (m *Member) SetMACs(macs []net.HardwareAddr) {
	var keep []net.HardwareAddr
	for _, mac := range macs {
		if len(mac) == 6 && len(keep) < maxMACs {
			keep = append(keep, slices.Clone(mac))
		}
	}
	slices.SortFunc(keep, func(a, b net.HardwareAddr) int { return bytes.Compare(a, b) })
	m.mu.Lock()
	same := slices.EqualFunc(keep, m.macs, func(a, b net.HardwareAddr) bool { return bytes.Equal(a, b) })
	m.macs = keep
	m.mu.Unlock()
	if same || m.list == nil {
		return
	}
	go func() {
		if err := m.list.UpdateNode(time.Second); err != nil {
			m.cfg.Log.V(1).Info("broadcasting MACs", "error", err.Error())
		}
	}()
}

// PeerMACs returns the MACs the other nodes (alive or not) said are
// theirs.
func (m *Member) PeerMACs() []net.HardwareAddr {
	m.nodesMu.Lock()
	defer m.nodesMu.Unlock()
	var out []net.HardwareAddr
	for name, n := range m.nodes {
		if name != m.cfg.Name {
			out = append(out, n.macs...)
		}
	}
	return out
}

// maxMACs bounds the MACs in a node's metadata (memberlist's limit is 512
// bytes, 6 bytes a MAC after the readiness byte).
const maxMACs = 80

// nodeInfo is what Member keeps of another node.
type nodeInfo struct {
	addr  string
	macs  []net.HardwareAddr
	ready bool
	// dead: memberlist declared it dead (or it left; a leaving node says
	// it is not ready first). The entry stays so that Live can count it
	// until it has been silent for Silence.
	dead bool
	// heard is the last sign of life: its alive or metadata message, an
	// ack to this node's probe or ping.
	heard   time.Time
	pinging bool
	// countsMe is when its last ack said it counts this node (zero if that
	// ack said it does not).
	countsMe time.Time
}

// Leave says this node is going: it stops counting itself at once, and the
// others stop counting it as soon as its "not ready" metadata reaches them
// (one gossip interval), without waiting for failure detection; then it
// leaves, and shuts memberlist down. (The metadata goes first because
// memberlist tells the others' events a node left the way it tells them a
// node died, and a dead node counts until it has been silent for Silence.)
func (m *Member) Leave(timeout time.Duration) error {
	m.mu.Lock()
	m.leaving = true
	m.ready = false
	m.mu.Unlock()
	m.notify()
	start := time.Now()
	if err := m.list.UpdateNode(timeout / 2); err != nil {
		m.cfg.Log.V(1).Info("broadcasting not ready before leaving", "error", err.Error())
	}
	err := m.list.Leave(max(timeout-time.Since(start), timeout/2))
	if serr := m.list.Shutdown(); err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("leaving the speaker cluster: %w", err)
	}
	return nil
}

// Addr returns this node's advertised "ip:port", as others list it in Peers.
func (m *Member) Addr() string { return m.self }

// Shutdown stops memberlist without telling the others, as a crash would.
func (m *Member) Shutdown() error {
	return m.list.Shutdown()
}

// join joins the peers not seen alive.
func (m *Member) join() {
	alive := map[string]bool{}
	m.nodesMu.Lock()
	for _, n := range m.nodes {
		if !n.dead {
			alive[n.addr] = true
		}
	}
	m.nodesMu.Unlock()
	var todo []string
	for _, p := range m.cfg.Peers {
		if p != m.self && !alive[p] {
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		return
	}
	if n, err := m.list.Join(todo); err != nil && n == 0 {
		m.cfg.Log.V(1).Info("peers not reachable", "peers", todo, "error", err.Error())
	}
}

// updateReady moves the readiness flag along and broadcasts a change.
func (m *Member) updateReady() {
	others := 0
	m.nodesMu.Lock()
	for name, n := range m.nodes {
		if name != m.cfg.Name && !n.dead {
			others++
		}
	}
	m.nodesMu.Unlock()
	m.mu.Lock()
	since := time.Since(m.readySince)
	ready := m.wantReady && !m.leaving &&
		(len(m.peersOtherThanSelf()) == 0 || (others > 0 && since >= m.cfg.Settle) || since >= m.cfg.AloneAfter)
	changed := ready != m.ready
	m.ready = ready
	if changed && ready {
		m.readyAt = time.Now()
	}
	m.mu.Unlock()
	if changed {
		m.cfg.Log.Info("readiness changed", "ready", ready, "othersAlive", others)
		// UpdateNode blocks until the update is gossiped; do not hold m.mu.
		go func() {
			if err := m.list.UpdateNode(time.Second); err != nil {
				m.cfg.Log.V(1).Info("broadcasting readiness", "ready", ready, "error", err.Error())
			}
		}()
	}
}

func (m *Member) peersOtherThanSelf() []string {
	var out []string
	for _, p := range m.cfg.Peers {
		if p != m.self {
			out = append(out, p)
		}
	}
	return out
}

// notify calls OnChange if the live set changed since the last call.
func (m *Member) notify() {
	m.notifyMu.Lock()
	defer m.notifyMu.Unlock()
	live := m.Live()
	m.mu.Lock()
	same := m.lastChanged && slices.Equal(live, m.lastLive)
	m.lastLive, m.lastChanged = live, true
	m.mu.Unlock()
	if !same && m.cfg.OnChange != nil {
		m.cfg.OnChange(live)
	}
	payload := ackPayload(live)
	m.mu.Lock()
	m.applied = payload
	m.mu.Unlock()
}

// ackPayload encodes a live set for acks: the FNV-1a hash of each name, 4
// bytes each, so that a large cluster's set fits in a UDP packet.
func ackPayload(live []string) []byte {
	out := make([]byte, 0, 4*len(live))
	for _, n := range live {
		out = binary.BigEndian.AppendUint32(out, nameHash(n))
	}
	return out
}

// payloadCounts reports whether an ack payload counts node.
func payloadCounts(payload []byte, node string) bool {
	h := nameHash(node)
	for ; len(payload) >= 4; payload = payload[4:] {
		if binary.BigEndian.Uint32(payload) == h {
			return true
		}
	}
	return false
}

func nameHash(n string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(n))
	return h.Sum32()
}

const (
	metaNotReady byte = 0
	metaReady    byte = 1
)

// delegate puts the readiness flag in this node's metadata.
type delegate struct{ m *Member }

func (d delegate) NodeMeta(int) []byte {
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	meta := []byte{metaNotReady}
	if d.m.ready && !d.m.leaving {
		meta[0] = metaReady
	}
	for _, mac := range d.m.macs {
		meta = append(meta, mac...)
	}
	return meta
}

// metaMACs reads the MACs after the readiness flag of a node's metadata.
func metaMACs(meta []byte) []net.HardwareAddr {
	var out []net.HardwareAddr
	for b := meta[min(1, len(meta)):]; len(b) >= 6; b = b[6:] {
		out = append(out, net.HardwareAddr(slices.Clone(b[:6])))
	}
	return out
}
func (delegate) NotifyMsg([]byte)                { /* no user messages */ }
func (delegate) GetBroadcasts(int, int) [][]byte { return nil }
func (delegate) LocalState(bool) []byte          { return nil }
func (delegate) MergeRemoteState([]byte, bool)   {}

// events signals Run; memberlist calls it holding its own locks, so it must
// not call back into memberlist.
type events struct{ m *Member }

func (e events) NotifyJoin(n *memberlist.Node)   { e.put(n) }
func (e events) NotifyUpdate(n *memberlist.Node) { e.put(n) }
func (e events) NotifyLeave(n *memberlist.Node) {
	e.m.nodesMu.Lock()
	if cur, ok := e.m.nodes[n.Name]; ok {
		cur.dead = true
		e.m.nodes[n.Name] = cur
	}
	e.m.nodesMu.Unlock()
	e.signal()
}

func (e events) put(n *memberlist.Node) {
	e.m.nodesMu.Lock()
	prev := e.m.nodes[n.Name]
	e.m.nodes[n.Name] = nodeInfo{addr: n.Address(), macs: metaMACs(n.Meta), ready: len(n.Meta) > 0 && n.Meta[0] == metaReady,
		heard: time.Now(), pinging: prev.pinging, countsMe: prev.countsMe}
	e.m.nodesMu.Unlock()
	e.signal()
}

// pings records acks to this node's probes as signs of life, and whether
// the acking node counts this one; its own acks carry the live set it
// applied.
type pings struct{ m *Member }

func (p pings) AckPayload() []byte {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	return slices.Clone(p.m.applied)
}

func (p pings) NotifyPingComplete(other *memberlist.Node, _ time.Duration, payload []byte) {
	p.m.nodesMu.Lock()
	defer p.m.nodesMu.Unlock()
	if cur, ok := p.m.nodes[other.Name]; ok {
		now := time.Now()
		cur.heard = now
		cur.countsMe = time.Time{}
		if payloadCounts(payload, p.m.cfg.Name) {
			cur.countsMe = now
		}
		p.m.nodes[other.Name] = cur
	}
}

func (e events) signal() {
	select {
	case e.m.changed <- struct{}{}:
	default:
	}
}

// logWriter turns memberlist's log lines into logr messages: errors and
// warnings at V(0), the rest at V(2).
type logWriter struct{ log logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	switch {
	case strings.HasPrefix(line, "[ERR]"), strings.HasPrefix(line, "[WARN]"):
		w.log.Info(line)
	default:
		w.log.V(2).Info(line)
	}
	return len(p), nil
}

var _ io.Writer = logWriter{}

// Addr returns "host:port" for an IP and port, as Peers expects.
func Addr(ip net.IP, port int) string { return net.JoinHostPort(ip.String(), strconv.Itoa(port)) }
