package memlimit

// CgroupPercent is the share of the cgroup's memory limit given to Go's
// garbage collector as its soft limit. The rest is for what the collector
// does not count but the cgroup does: the binary's mapped code (about
// 44 MiB for herald), the page cache of files read, and the heap's growth
// between a collection's start and end.
const CgroupPercent = 75

// Where a Decision's limit came from.
const (
	// SourceEnv: the GOMEMLIMIT variable is set; the runtime applied it.
	SourceEnv = "GOMEMLIMIT"
	// SourceFlag: the flag's explicit value (0: no limit).
	SourceFlag = "flag"
	// SourceCgroup: CgroupPercent of the cgroup's memory limit.
	SourceCgroup = "cgroup"
	// SourceNone: no flag, no GOMEMLIMIT and no cgroup limit.
	SourceNone = "none"
)

// Decision is the soft memory limit GCLimit chose.
type Decision struct {
	// Bytes is the limit to hand to debug.SetMemoryLimit; 0 means leave
	// the runtime's as it is (GOMEMLIMIT's, or none).
	Bytes int64
	// Source is one of the Source constants.
	Source string
}

// GCLimit decides the garbage collector's soft memory limit: GOMEMLIMIT
// (gomemlimit, the variable's value) when set, which the runtime has already
// applied; else the flag's value in MiB when it is 0 or more (0: none); else
// (flagMiB -1, the default) CgroupPercent of the cgroup's limit; else none.
//
// With no cgroup limit there is no soft limit either, only Go's default
// pacing (a collection when the heap doubles over the live data): nothing
// stops the process at a memory threshold, so the limit would only trade
// CPU for resident memory, and any fixed figure is below the live heap at
// some number of Services, where the collector runs without pause (the
// former fixed 48 MiB at 10,000 Services took 63 s from start to all
// reconciled, 14 s with none).
func GCLimit(flagMiB int64, gomemlimit string, cg Limit) Decision {
	switch {
	case gomemlimit != "":
		return Decision{Source: SourceEnv}
	case flagMiB >= 0:
		return Decision{Bytes: flagMiB << 20, Source: SourceFlag}
	case cg.Bytes > 0:
		return Decision{Bytes: cg.Bytes/100*CgroupPercent + cg.Bytes%100*CgroupPercent/100, Source: SourceCgroup}
	default:
		return Decision{Source: SourceNone}
	}
}
