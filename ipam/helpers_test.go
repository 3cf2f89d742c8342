package ipam

import (
	"errors"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func asError(err error, e **Error) bool { return errors.As(err, e) }

// step is one operation of a scenario: allocate (default), release,
// restore, or set pools; with the expected outcome.
type step struct {
	op     string // "", "release", "restore", "pools"
	svc    Service
	ips    []string // addresses to restore
	pools  []Pool
	want   []string // addresses returned (allocate), held afterwards (others)
	reason Reason   // expected error reason; "" means success
	msg    string   // substring of the expected error message
	stale  []string // for "pools": expected Stale
	errs   map[string]string
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func strs(as []netip.Addr) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

// run plays the steps on a, checking every outcome and, after each step,
// the allocator's invariants. A failed step must leave the Service's
// addresses as they were.
func run(t *testing.T, a *Allocator, steps []step) {
	t.Helper()
	for i, s := range steps {
		before := a.Assigned(s.svc.Key)
		var err error
		var got []string
		switch s.op {
		case "":
			var ips []netip.Addr
			ips, err = a.Allocate(s.svc)
			got = strs(ips)
		case "release":
			a.Release(s.svc.Key)
			got = strs(a.Assigned(s.svc.Key))
		case "restore":
			err = a.Restore(s.svc, addrs(s.ips...))
			got = strs(a.Assigned(s.svc.Key))
		case "pools":
			res := a.SetPools(s.pools)
			if diff := cmp.Diff(s.stale, res.Stale); diff != "" {
				t.Errorf("step %d: SetPools stale (-want +got):\n%s", i, diff)
			}
			gotErrs := map[string]string{}
			for name, e := range res.Errors {
				gotErrs[name] = e.Message
				if e.Reason != InvalidPool {
					t.Errorf("step %d: pool %q error reason %s, want InvalidPool", i, name, e.Reason)
				}
			}
			if len(gotErrs) != len(s.errs) {
				t.Errorf("step %d: SetPools errors = %v, want pools %v", i, gotErrs, s.errs)
			}
			for name, sub := range s.errs {
				if !strings.Contains(gotErrs[name], sub) {
					t.Errorf("step %d: pool %q error = %q, want it to contain %q", i, name, gotErrs[name], sub)
				}
			}
			checkInvariants(t, a)
			continue
		default:
			t.Fatalf("step %d: unknown op %q", i, s.op)
		}
		var e *Error
		switch {
		case s.reason == "" && err != nil:
			t.Errorf("step %d (%s %s): unexpected error %v", i, s.op, s.svc.Key, err)
		case s.reason != "" && !errors.As(err, &e):
			t.Errorf("step %d (%s %s): error = %v, want reason %s", i, s.op, s.svc.Key, err, s.reason)
		case s.reason != "":
			if e.Reason != s.reason || !strings.Contains(e.Message, s.msg) {
				t.Errorf("step %d (%s %s): error = %s: %q, want %s containing %q", i, s.op, s.svc.Key, e.Reason, e.Message, s.reason, s.msg)
			}
			if s.op == "" {
				if after := a.Assigned(s.svc.Key); !slices.Equal(before, after) {
					t.Errorf("step %d: failed Allocate changed %s's addresses from %v to %v", i, s.svc.Key, before, after)
				}
				got = strs(a.Assigned(s.svc.Key))
			}
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("step %d (%s %s): addresses (-want +got):\n%s", i, s.op, s.svc.Key, diff)
		}
		checkInvariants(t, a)
	}
}

// checkInvariants verifies the allocator's internal consistency: every
// address is held by compatible Services, no Service holds two addresses of
// one family, pool counts match, the sharing index matches.
func checkInvariants(t *testing.T, a *Allocator) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for key, e := range a.services {
		if len(e.ips) == 0 {
			t.Errorf("service %s is recorded with no address", key)
		}
		var fam [2]bool
		if e.key != key {
			t.Errorf("service %s is recorded under the key %s", e.key, key)
		}
		for i, ip := range e.ips {
			if fam[famIdx(ip)] {
				t.Errorf("service %s holds two %s addresses: %v", key, FamilyOf(ip), e.ips)
			}
			fam[famIdx(ip)] = true
			ent := a.ips[ip]
			if ent == nil || !slices.Contains(ent.users, e) {
				t.Errorf("service %s holds %s, which does not list it", key, ip)
			}
			if e.ents[i] != ent {
				t.Errorf("service %s holds %s but points to another record of it", key, ip)
			}
		}
		for i := len(e.ips); i < len(e.ents); i++ {
			if e.ents[i] != nil {
				t.Errorf("service %s points to the record of %s, which it does not hold", key, e.ents[i].ip)
			}
		}
	}
	counts := map[*poolState]*[2]uint64{}
	for ip, ent := range a.ips {
		if len(ent.users) == 0 {
			t.Errorf("address %s is recorded with no user", ip)
		}
		if ent.ip != ip {
			t.Errorf("address %s is recorded as %s", ip, ent.ip)
		}
		for i, u := range ent.users {
			if a.services[u.key] != u || !slices.Contains(u.ips, ip) {
				t.Errorf("address %s lists %s, which does not hold it", ip, u.key)
			}
			for _, v := range ent.users[i+1:] {
				if err := conflict(ip, u.info, v.key, v.info); err != nil {
					t.Errorf("address %s is held by %s and %s, which cannot share it: %v", ip, u.key, v.key, err)
				}
			}
		}
		if p := a.index.lookup(ip); p != ent.pool {
			t.Errorf("address %s is recorded in the wrong pool", ip)
		}
		if ent.pool != nil {
			if counts[ent.pool] == nil {
				counts[ent.pool] = new([2]uint64)
			}
			counts[ent.pool][famIdx(ip)]++
		}
		if k := ent.users[0].info.key; k != "" {
			if _, ok := a.shared[k][ip]; !ok {
				t.Errorf("address %s is missing from the sharing index of key %q", ip, k)
			}
		}
	}
	for name, p := range a.pools {
		var want [2]uint64
		if c := counts[p]; c != nil {
			want = *c
		}
		for fi, f := range p.fam {
			if f.assigned != want[fi] {
				t.Errorf("pool %s %s assigned = %d, want %d", name, [2]Family{IPv4, IPv6}[fi], f.assigned, want[fi])
			}
			if f.assigned > 0 && new(big.Int).SetUint64(f.assigned).Cmp(f.total) > 0 {
				t.Errorf("pool %s %s assigned %d > total %s", name, [2]Family{IPv4, IPv6}[fi], f.assigned, f.total)
			}
		}
	}
	for k, m := range a.shared {
		for ip := range m {
			if ent := a.ips[ip]; ent == nil || ent.users[0].info.key != k {
				t.Errorf("sharing index lists %s under key %q, wrongly", ip, k)
			}
		}
	}
}
