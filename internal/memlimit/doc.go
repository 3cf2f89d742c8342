// Package memlimit finds the memory limit of the cgroup a process runs in
// (cgroup v2's memory.max, or cgroup v1's memory.limit_in_bytes on v1 and
// hybrid hosts) and derives from it the soft memory limit handed to Go's
// garbage collector (runtime/debug.SetMemoryLimit).
//
// Reading is separated from deciding: Cgroup reads the files under a root
// directory ("/" in production, a t.TempDir fixture in tests), and GCLimit
// is a pure function of the flag, the GOMEMLIMIT variable and that limit.
package memlimit
