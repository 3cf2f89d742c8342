package ipam

import (
	"net/netip"
	"slices"
	"sync"
)

// Allocator assigns addresses from pools to Services. It is safe for
// concurrent use; every method takes one mutex, and none does I/O.
type Allocator struct {
	mu       sync.Mutex
	pools    map[string]*poolState
	auto     []*poolState // autoAssign pools in automatic-allocation order
	index    rangeIndex
	ips      map[netip.Addr]*ipEntry
	services map[string]*svcEntry
	shared   map[string]map[netip.Addr]struct{} // sharing key → addresses
	// spareIPs and spareSvcs are entries no longer in use, reused by the
	// next Allocate so that a Service's churn allocates nothing but the
	// slice Allocate returns; at most maxSpare of each are kept.
	spareIPs  []*ipEntry
	spareSvcs []*svcEntry
}

// maxSpare bounds the entries kept for reuse after Release.
const maxSpare = 64

// ipEntry is one used address.
type ipEntry struct {
	ip    netip.Addr
	users []*svcEntry
	pool  *poolState   // nil when the address is in no pool
	one   [1]*svcEntry // users' first backing array: most addresses have one user
}

// removeUser takes e off the address's users, keeping their order.
func (ent *ipEntry) removeUser(e *svcEntry) {
	for i, u := range ent.users {
		if u == e {
			n := len(ent.users) - 1
			copy(ent.users[i:], ent.users[i+1:])
			ent.users[n] = nil
			ent.users = ent.users[:n]
			return
		}
	}
}

// svcEntry is one Service holding addresses: the one record the allocator
// keeps per Service, reached by its key in Allocator.services, with the
// records of its addresses, so that releasing it looks nothing else up.
type svcEntry struct {
	key  string
	info sharing
	ips  []netip.Addr
	buf  [2]netip.Addr // ips' backing array: one address per family
	ents [2]*ipEntry   // ents[i] is the record of ips[i]
}

// newSvcEntry returns an entry for the Service key, reusing a spare one.
func (a *Allocator) newSvcEntry(key string) *svcEntry {
	var e *svcEntry
	if n := len(a.spareSvcs); n > 0 {
		e = a.spareSvcs[n-1]
		a.spareSvcs = a.spareSvcs[:n-1]
	} else {
		e = &svcEntry{}
	}
	e.key = key
	return e
}

// dropSvcEntry forgets the Service of an entry that holds no address.
func (a *Allocator) dropSvcEntry(e *svcEntry) {
	delete(a.services, e.key)
	if len(a.spareSvcs) < maxSpare {
		*e = svcEntry{}
		a.spareSvcs = append(a.spareSvcs, e)
	}
}

// newIPEntry records ip as used, in pool (nil: in no pool), with no user
// yet, reusing a spare entry.
func (a *Allocator) newIPEntry(ip netip.Addr, pool *poolState) *ipEntry {
	var ent *ipEntry
	if n := len(a.spareIPs); n > 0 {
		ent = a.spareIPs[n-1]
		a.spareIPs = a.spareIPs[:n-1]
	} else {
		ent = &ipEntry{}
		ent.users = ent.one[:0]
	}
	ent.ip, ent.pool = ip, pool
	a.ips[ip] = ent
	if pool != nil {
		pool.fam[famIdx(ip)].assigned++
	}
	return ent
}

// freeIP forgets an address that has no user left and gives it back to its
// pool.
func (a *Allocator) freeIP(ent *ipEntry) {
	delete(a.ips, ent.ip)
	if ent.pool != nil {
		f := ent.pool.fam[famIdx(ent.ip)]
		f.assigned--
		f.put(ent.ip)
	}
	if len(a.spareIPs) < maxSpare {
		ent.pool = nil
		a.spareIPs = append(a.spareIPs, ent)
	}
}

// New returns an allocator with no pools.
func New() *Allocator {
	return &Allocator{
		pools:    map[string]*poolState{},
		ips:      map[netip.Addr]*ipEntry{},
		services: map[string]*svcEntry{},
		shared:   map[string]map[netip.Addr]struct{}{},
	}
}

// Assigned returns the addresses held by the Service, in the order Allocate
// or Restore returned or recorded them, or nil.
func (a *Allocator) Assigned(key string) []netip.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e := a.services[key]; e != nil {
		return slices.Clone(e.ips)
	}
	return nil
}

// PoolOf returns the name of the pool that may hand out ip, if any.
func (a *Allocator) PoolOf(ip netip.Addr) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p := a.index.lookup(ip); p != nil {
		return p.spec.Name, true
	}
	return "", false
}

// Release frees the Service's addresses. A shared address is freed when its
// last user is released. Releasing an unknown key does nothing.
func (a *Allocator) Release(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.services[key]
	if e == nil {
		return
	}
	for _, ent := range e.ents[:len(e.ips)] {
		ent.removeUser(e)
		if len(ent.users) == 0 {
			if e.info.key != "" {
				a.unshare(e.info.key, ent.ip)
			}
			a.freeIP(ent)
		}
	}
	a.dropSvcEntry(e)
}

// Stats returns, per accepted pool, its total, assigned and available
// addresses per family.
func (a *Allocator) Stats() map[string]PoolStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]PoolStats, len(a.pools))
	for name, p := range a.pools {
		out[name] = PoolStats{IPv4: p.fam[0].stats(), IPv6: p.fam[1].stats()}
	}
	return out
}

// Restore records addresses a Service already holds (from its status), so
// that a restarted controller rebuilds its state before allocating anything
// new: call Restore for every Service first, then Allocate. Restore does not
// apply the pool order or serviceAllocation (the following Allocate does,
// and keeps the addresses when they are still valid); it refuses only what
// would duplicate an address or what lies in no pool:
//   - an address in no pool is not recorded; the error has Reason NotInPool;
//   - an address held by another Service that cannot share it is not
//     recorded; the error has Reason SharingConflict or
//     RequestedIPUnavailable;
//   - a second address of one family is not recorded (InvalidRequest).
//
// The other addresses are recorded either way; on an error the caller
// should call Allocate for the Service, which completes or replaces them.
func (a *Allocator) Restore(svc Service, ips []netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	info := sharingOf(&svc)
	e := a.services[svc.Key]
	var keep pair
	var firstErr *Error
	fail := func(err *Error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	var seen [2]bool
	for _, ip := range ips {
		ip = ip.Unmap()
		switch {
		case !ip.IsValid():
			fail(newError(InvalidRequest, "an empty address cannot be restored"))
		case seen[famIdx(ip)]:
			fail(newError(InvalidRequest, "holds two "+string(FamilyOf(ip))+" addresses; "+ip.String()+" was not restored: a Service gets one address per family"))
		default:
			p := a.index.lookup(ip)
			if p == nil {
				fail(newError(NotInPool, "address "+ip.String()+" is no longer in any pool: it will be replaced by an address from a pool"))
				continue
			}
			if err := a.shareable(ip, info, e); err != nil {
				fail(err)
				continue
			}
			seen[famIdx(ip)] = true
			keep.add(ip, p, false)
		}
	}
	if e == nil {
		if keep.n == 0 {
			return errOrNil(firstErr)
		}
		e = a.newSvcEntry(svc.Key)
		a.services[svc.Key] = e
	}
	a.commit(e, info, &keep)
	if keep.n == 0 {
		a.dropSvcEntry(e)
	}
	return errOrNil(firstErr)
}

// errOrNil avoids returning a typed nil inside a non-nil error.
func errOrNil(e *Error) error {
	if e == nil {
		return nil
	}
	return e
}

// commit makes ips (at most one per family) the Service's addresses,
// updating the used set, the sharing index, the pools' assigned counts and
// free lists.
func (a *Allocator) commit(e *svcEntry, info sharing, ips *pair) {
	oldN, oldIPs, oldEnts := len(e.ips), e.buf, e.ents
	for _, ent := range oldEnts[:oldN] {
		ent.removeUser(e)
		if len(ent.users) == 0 && e.info.key != "" {
			a.unshare(e.info.key, ent.ip)
		}
	}
	e.info = info
	e.ents = [2]*ipEntry{}
	for i, ip := range ips.list() {
		var ent *ipEntry
		for j, o := range oldIPs[:oldN] {
			if o == ip {
				ent = oldEnts[j]
			}
		}
		if ent == nil && !ips.new[i] {
			ent = a.ips[ip]
		}
		if ent == nil {
			p := ips.pool[i]
			if p == nil {
				p = a.index.lookup(ip)
			}
			ent = a.newIPEntry(ip, p)
			if p != nil && !ips.new[i] {
				// Taken out of order (requested, restored): it may
				// be on the pool's free list.
				p.fam[famIdx(ip)].stale = true
			}
		}
		if len(ent.users) == 0 && info.key != "" {
			if a.shared[info.key] == nil {
				a.shared[info.key] = map[netip.Addr]struct{}{}
			}
			a.shared[info.key][ip] = struct{}{}
		}
		ent.users = append(ent.users, e)
		e.buf[i], e.ents[i] = ip, ent
	}
	e.ips = e.buf[:ips.n]
	for _, ent := range oldEnts[:oldN] {
		if len(ent.users) == 0 {
			a.freeIP(ent)
		}
	}
}

// pair holds at most one address per family, in order, without a heap
// allocation: the addresses a Service holds or is about to hold, with what
// the search learnt of each, so that commit need not look it up again.
type pair struct {
	ip   [2]netip.Addr
	pool [2]*poolState // pool[i] may hand out ip[i]; nil: not known
	new  [2]bool       // ip[i] was free: it has no record
	n    int
}

func (s *pair) add(ip netip.Addr, p *poolState, isNew bool) {
	s.ip[s.n], s.pool[s.n], s.new[s.n] = ip, p, isNew
	s.n++
}

func (s *pair) list() []netip.Addr { return s.ip[:s.n] }

func (a *Allocator) unshare(key string, ip netip.Addr) {
	m := a.shared[key]
	delete(m, ip)
	if len(m) == 0 {
		delete(a.shared, key)
	}
}

// used reports whether an address is held by any Service.
func (a *Allocator) used(ip netip.Addr) bool {
	_, ok := a.ips[ip]
	return ok
}
