package memlimit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGCLimit(t *testing.T) {
	limited := Limit{Bytes: 200 << 20, File: "/sys/fs/cgroup/memory.max", Version: 2}
	for _, tc := range []struct {
		name       string
		flagMiB    int64
		gomemlimit string
		cg         Limit
		want       Decision
	}{
		{name: "75% of the container's 200Mi", flagMiB: -1, cg: limited, want: Decision{Bytes: 150 << 20, Source: SourceCgroup}},
		{name: "75% of 256Mi", flagMiB: -1, cg: Limit{Bytes: 256 << 20, Version: 1}, want: Decision{Bytes: 192 << 20, Source: SourceCgroup}},
		{name: "no cgroup limit: none", flagMiB: -1, cg: Limit{File: "x", Version: 1}, want: Decision{Source: SourceNone}},
		{name: "no cgroup at all: none", flagMiB: -1, want: Decision{Source: SourceNone}},
		{name: "explicit flag wins over the cgroup", flagMiB: 128, cg: limited, want: Decision{Bytes: 128 << 20, Source: SourceFlag}},
		{name: "explicit 0 is none", flagMiB: 0, cg: limited, want: Decision{Source: SourceFlag}},
		{name: "GOMEMLIMIT wins over the flag", flagMiB: 128, gomemlimit: "300MiB", cg: limited, want: Decision{Source: SourceEnv}},
		{name: "GOMEMLIMIT wins over the cgroup", flagMiB: -1, gomemlimit: "off", cg: limited, want: Decision{Source: SourceEnv}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := GCLimit(tc.flagMiB, tc.gomemlimit, tc.cg)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("GCLimit(%d, %q, %+v) (-want +got):\n%s", tc.flagMiB, tc.gomemlimit, tc.cg, d)
			}
		})
	}
}
