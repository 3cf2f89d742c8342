package memlimit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Mount lines as the kernel writes them.
const (
	mountV2     = "30 22 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
	mountHybrid = "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n" +
		"31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n" +
		"34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
		"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	cgroupsHybrid = "9:name=systemd:/\n4:memory:/process_api/6c47\n1:cpu:/\n0::/\n"
	meminfo       = "MemTotal:        8131896 kB\nMemFree:         1000000 kB\n"
	v1NoLimit     = "9223372036854771712\n"
)

func TestCgroup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  Limit // File relative to the fixture's root
	}{{
		name: "v2 container, own cgroup namespace",
		files: map[string]string{
			"proc/self/cgroup": "0::/\n", "proc/self/mountinfo": mountV2, "proc/meminfo": meminfo,
			"sys/fs/cgroup/memory.max": "209715200\n",
		},
		want: Limit{Bytes: 200 << 20, File: "/sys/fs/cgroup/memory.max", Version: 2},
	}, {
		name: "v2 max is no limit",
		files: map[string]string{
			"proc/self/cgroup": "0::/\n", "proc/self/mountinfo": mountV2, "proc/meminfo": meminfo,
			"sys/fs/cgroup/memory.max": "max\n",
		},
		want: Limit{File: "/sys/fs/cgroup/memory.max", Version: 2},
	}, {
		name: "v2 host view: the pod's limit below the container's max",
		files: map[string]string{
			"proc/self/cgroup": "0::/kubepods/pod1/c1\n", "proc/self/mountinfo": mountV2, "proc/meminfo": meminfo,
			"sys/fs/cgroup/kubepods/pod1/c1/memory.max": "max\n",
			"sys/fs/cgroup/kubepods/pod1/memory.max":    "104857600\n",
			"sys/fs/cgroup/kubepods/memory.max":         "max\n",
		},
		want: Limit{Bytes: 100 << 20, File: "/sys/fs/cgroup/kubepods/pod1/memory.max", Version: 2},
	}, {
		name: "v2 the group's own limit below its parent's",
		files: map[string]string{
			"proc/self/cgroup": "0::/a/b\n", "proc/self/mountinfo": mountV2,
			"sys/fs/cgroup/a/b/memory.max": "52428800\n",
			"sys/fs/cgroup/a/memory.max":   "104857600\n",
		},
		want: Limit{Bytes: 50 << 20, File: "/sys/fs/cgroup/a/b/memory.max", Version: 2},
	}, {
		name: "v2 root cgroup has no memory.max: no limit",
		files: map[string]string{
			"proc/self/cgroup": "0::/\n", "proc/self/mountinfo": mountV2,
			"sys/fs/cgroup/cgroup.controllers": "cpu memory\n",
		},
		want: Limit{},
	}, {
		name: "hybrid host, unlimited v1 group (this machine)",
		files: map[string]string{
			"proc/self/cgroup": cgroupsHybrid, "proc/self/mountinfo": mountHybrid, "proc/meminfo": meminfo,
			"sys/fs/cgroup/unified/cgroup.controllers":                    "hugetlb\n",
			"sys/fs/cgroup/memory/process_api/6c47/memory.limit_in_bytes": v1NoLimit,
			"sys/fs/cgroup/memory/process_api/memory.limit_in_bytes":      v1NoLimit,
			"sys/fs/cgroup/memory/memory.limit_in_bytes":                  v1NoLimit,
		},
		want: Limit{File: "/sys/fs/cgroup/memory/process_api/6c47/memory.limit_in_bytes", Version: 1},
	}, {
		name: "hybrid host, limited v1 group",
		files: map[string]string{
			"proc/self/cgroup": cgroupsHybrid, "proc/self/mountinfo": mountHybrid, "proc/meminfo": meminfo,
			"sys/fs/cgroup/memory/process_api/6c47/memory.limit_in_bytes": "209715200\n",
			"sys/fs/cgroup/memory/process_api/memory.limit_in_bytes":      v1NoLimit,
		},
		want: Limit{Bytes: 200 << 20, File: "/sys/fs/cgroup/memory/process_api/6c47/memory.limit_in_bytes", Version: 1},
	}, {
		name: "v1 container: its group mounted at the hierarchy's root",
		files: map[string]string{
			"proc/self/cgroup":    "5:cpu,memory:/kubepods/burstable/pod1/c1\n",
			"proc/self/mountinfo": "34 30 0:31 /kubepods/burstable/pod1/c1 /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,cpu,memory\n",
			"proc/meminfo":        meminfo,
			"sys/fs/cgroup/memory/memory.limit_in_bytes": "268435456\n",
		},
		want: Limit{Bytes: 256 << 20, File: "/sys/fs/cgroup/memory/memory.limit_in_bytes", Version: 1},
	}, {
		name: "v1 limit at or above the host's memory is no limit",
		files: map[string]string{
			"proc/self/cgroup": cgroupsHybrid, "proc/self/mountinfo": mountHybrid, "proc/meminfo": meminfo,
			"sys/fs/cgroup/memory/process_api/6c47/memory.limit_in_bytes": "1099511627776\n",
		},
		want: Limit{File: "/sys/fs/cgroup/memory/process_api/6c47/memory.limit_in_bytes", Version: 1},
	}, {
		name: "mount point with an escaped space",
		files: map[string]string{
			"proc/self/cgroup":    "0::/\n",
			"proc/self/mountinfo": `30 22 0:27 / /cg\040two rw - cgroup2 cgroup2 rw` + "\n",
			"cg two/memory.max":   "104857600\n",
		},
		want: Limit{Bytes: 100 << 20, File: "/cg two/memory.max", Version: 2},
	}, {
		name:  "no cgroups at all",
		files: map[string]string{"proc/meminfo": meminfo},
		want:  Limit{},
	}, {
		name: "no memory controller in any hierarchy",
		files: map[string]string{
			"proc/self/cgroup": "1:cpu:/\n", "proc/self/mountinfo": mountHybrid,
		},
		want: Limit{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			root := fixture(t, tc.files)
			got, err := Cgroup(root)
			if err != nil {
				t.Fatal(err)
			}
			got.File = strings.TrimPrefix(got.File, root)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Cgroup (-want +got):\n%s", d)
			}
		})
	}
}

func TestCgroupErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // in the error
	}{{
		name: "garbage limit",
		files: map[string]string{
			"proc/self/cgroup": "0::/\n", "proc/self/mountinfo": mountV2,
			"sys/fs/cgroup/memory.max": "lots\n",
		},
		want: `memory.max: "lots" is neither a number of bytes nor "max"`,
	}, {
		name:  "cgroups without mountinfo",
		files: map[string]string{"proc/self/cgroup": "0::/\n"},
		want:  "reading the process's mounts",
	}, {
		name: "bad MemTotal",
		files: map[string]string{
			"proc/self/cgroup": "0::/\n", "proc/self/mountinfo": mountV2,
			"sys/fs/cgroup/memory.max": "104857600\n", "proc/meminfo": "MemTotal: x kB\n",
		},
		want: `MemTotal "x"`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Cgroup(fixture(t, tc.files))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Cgroup error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// fixture writes files (path under the root: content) under a new
// directory and returns it.
func fixture(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
