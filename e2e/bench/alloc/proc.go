package main

// What the bench reads of the machine's processes from /proc: the API
// server's and etcd's processes, their CPU time, herald's peak RSS, the
// load average and the hypervisor's steal time.

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// serverProcesses finds the kube-apiserver serving host (by its
// --secure-port) and the etcd it uses (by its client URL), among the
// processes of the machine, where other test API servers may run.
func serverProcesses(host string) ([]int, error) {
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("parsing the API server's address %q: %w", host, err)
	}
	cmdlines := map[int][]string{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmdlines[pid] = strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	}
	find := func(bin, flag, value string) (int, []string) {
		for pid, args := range cmdlines {
			if len(args) == 0 || filepath.Base(args[0]) != bin {
				continue
			}
			for i, a := range args {
				if a == flag+"="+value || (a == flag && i+1 < len(args) && args[i+1] == value) {
					return pid, args
				}
			}
		}
		return 0, nil
	}
	api, apiArgs := find("kube-apiserver", "--secure-port", u.Port())
	if api == 0 {
		return nil, fmt.Errorf("no kube-apiserver process with --secure-port=%s", u.Port())
	}
	out := []int{api}
	for _, a := range apiArgs {
		if etcdURL, ok := strings.CutPrefix(a, "--etcd-servers="); ok {
			if etcd, _ := find("etcd", "--listen-client-urls", strings.Split(etcdURL, ",")[0]); etcd != 0 {
				out = append(out, etcd)
			}
		}
	}
	return out, nil
}

// loadAverage is the 1-minute load average, for the report: figures
// taken while it is high (other work on the machine) are not comparable.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// stealTicks is the machine's steal time so far, in USER_HZ ticks (the
// eighth figure of /proc/stat's cpu line), 0 when it cannot be read.
func stealTicks() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	t, _ := strconv.ParseInt(f[8], 10, 64)
	return t
}

// stealShare is the share of the machine's CPU time that ticks of steal
// time are, over a phase of length d.
func stealShare(ticks int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	// USER_HZ is 100 on every Linux this runs on.
	return float64(ticks) / 100 / (d.Seconds() * float64(runtime.NumCPU()))
}
