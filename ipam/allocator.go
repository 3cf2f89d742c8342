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
}

// ipEntry is one used address.
type ipEntry struct {
	users []*svcEntry
	pool  *poolState // nil when the address is in no pool
}

// svcEntry is one Service holding addresses.
type svcEntry struct {
	key  string
	info sharing
	ips  []netip.Addr
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
	if e := a.services[key]; e != nil {
		a.commit(e, e.info, nil)
		delete(a.services, key)
	}
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
	info := sharingOf(svc)
	e := a.services[svc.Key]
	var keep []netip.Addr
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
		case a.index.lookup(ip) == nil:
			fail(newError(NotInPool, "address "+ip.String()+" is no longer in any pool: it will be replaced by an address from a pool"))
		default:
			if err := a.shareable(ip, info, e); err != nil {
				fail(err)
				continue
			}
			seen[famIdx(ip)] = true
			keep = append(keep, ip)
		}
	}
	if e == nil {
		if len(keep) == 0 {
			return errOrNil(firstErr)
		}
		e = &svcEntry{key: svc.Key}
		a.services[svc.Key] = e
	}
	a.commit(e, info, keep)
	if len(keep) == 0 {
		delete(a.services, svc.Key)
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

// commit makes ips the Service's addresses, updating the used set, the
// sharing index, the pools' assigned counts and free lists. It keeps ips:
// callers pass a slice they do not use afterwards.
func (a *Allocator) commit(e *svcEntry, info sharing, ips []netip.Addr) {
	old := e.ips
	for _, ip := range old {
		ent := a.ips[ip]
		ent.users = slices.DeleteFunc(ent.users, func(u *svcEntry) bool { return u == e })
		if len(ent.users) == 0 && e.info.key != "" {
			a.unshare(e.info.key, ip)
		}
	}
	e.info = info
	e.ips = ips
	for _, ip := range e.ips {
		ent := a.ips[ip]
		if ent == nil {
			ent = &ipEntry{pool: a.index.lookup(ip)}
			a.ips[ip] = ent
			if ent.pool != nil {
				ent.pool.fam[famIdx(ip)].assigned++
			}
		}
		if len(ent.users) == 0 && info.key != "" {
			if a.shared[info.key] == nil {
				a.shared[info.key] = map[netip.Addr]struct{}{}
			}
			a.shared[info.key][ip] = struct{}{}
		}
		ent.users = append(ent.users, e)
	}
	for _, ip := range old {
		ent := a.ips[ip]
		if len(ent.users) > 0 {
			continue
		}
		delete(a.ips, ip)
		if ent.pool != nil {
			f := ent.pool.fam[famIdx(ip)]
			f.assigned--
			f.put(ip)
		}
	}
}

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
