package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/heraldlb/herald/internal/mountinfo"

	"github.com/heraldlb/herald/internal/frrproc"
)

// cleanup removes everything a run made, whether it is live or was killed:
// the processes (by their marker, SIGKILL after a grace), the pods'
// processes (by the kubelet's cgroupRoot), the mounts under the run's
// folder, the cgroups, the network namespaces and the host link, the
// router's FRR pathspace, the host paths containerd and the kubelet write
// whatever their config says, and the run's folder. It goes on past errors
// and returns them all.
func cleanup(ctx context.Context, p paths) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	// The kubelet first, so it restarts no container while the rest goes.
	for _, pid := range markedPIDs() {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "kubelet" {
			add(killPIDs([]int{pid}, 5*time.Second))
		}
	}
	add(killPIDs(cgroupPIDs(), 0))
	add(killPIDs(markedPIDs(), 15*time.Second))
	add(unmountUnder(p.dir))
	add(removeCgroups())
	for _, ns := range []string{nodeNetns, rtrNetns} {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			if _, err := run(ctx, "ip", "netns", "del", ns); err != nil {
				add(err)
			}
		}
	}
	if _, err := net.InterfaceByName(hostLink); err == nil {
		if _, err := run(ctx, "ip", "link", "del", hostLink); err != nil {
			add(err)
		}
	}
	add(frrproc.Cleanup(ctx, frrName))
	add(cleanHostPaths(p.dir))
	if err := os.RemoveAll(p.dir); err != nil {
		add(fmt.Errorf("removing %s: %w", p.dir, err))
	}
	return errors.Join(errs...)
}

// cgroupDirs returns the run's cgroup folders (cgroupRoot) in every
// hierarchy that has one.
func cgroupDirs() []string {
	matches, _ := filepath.Glob("/sys/fs/cgroup/*" + cgroupRoot)
	if _, err := os.Stat("/sys/fs/cgroup/unified" + cgroupRoot); err == nil {
		matches = append(matches, "/sys/fs/cgroup/unified"+cgroupRoot)
	}
	return matches
}

// cgroupPIDs lists every process in the run's cgroups: the pods' containers.
func cgroupPIDs() []int {
	seen := map[int]bool{}
	var pids []int
	for _, root := range cgroupDirs() {
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
					seen[pid] = true
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// removeCgroups removes the run's cgroup folders, deepest first.
func removeCgroups() error {
	var errs []error
	for _, root := range cgroupDirs() {
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("removing cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// unmountUnder detaches every mount under dir (overlay rootfs, the pods'
// network namespaces, the kubelet's tmpfs volumes), deepest first.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("reading mounts: %w", err)
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := mountinfo.Unescape(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			points = append(points, mp)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, mp := range points {
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", mp, err))
		}
	}
	return errors.Join(errs...)
}

// cleanHostPaths removes what containerd 1.6 and the kubelet write to fixed
// host paths whatever their config says: shim sockets in /run/containerd/s
// that nothing listens on any more, the kubelet's device-plugin socket,
// /var/log/containers links into the run's folder, and libcni's result
// cache for the run's network; then the folders, if that left them empty.
func cleanHostPaths(dir string) error {
	var errs []error
	rm := func(path string) {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if entries, err := os.ReadDir("/run/containerd/s"); err == nil {
		for _, e := range entries {
			path := filepath.Join("/run/containerd/s", e.Name())
			if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
				c.Close() // someone's live shim
				continue
			}
			rm(path)
		}
	}
	rm("/var/lib/kubelet/device-plugins/kubelet.sock")
	if entries, err := os.ReadDir("/var/log/containers"); err == nil {
		for _, e := range entries {
			path := filepath.Join("/var/log/containers", e.Name())
			if target, err := os.Readlink(path); err == nil && strings.HasPrefix(target, dir+"/") {
				rm(path)
			}
		}
	}
	// libcni's result cache names files <network>-<sandbox ID>-<interface>:
	// the run's own network, and the loopback network of its sandboxes.
	sandboxes, _ := os.ReadDir(filepath.Join(dir, "containerd", "root", "io.containerd.grpc.v1.cri", "sandboxes"))
	for _, results := range []string{"/var/lib/cni/results", "/var/lib/cni/cache/results"} {
		entries, _ := os.ReadDir(results)
		for _, e := range entries {
			ours := strings.HasPrefix(e.Name(), "hnode-")
			for _, sb := range sandboxes {
				ours = ours || strings.Contains(e.Name(), "-"+sb.Name()+"-")
			}
			if ours {
				rm(filepath.Join(results, e.Name()))
			}
		}
	}
	// Folders only if empty: rmdir refuses otherwise, which is what we want.
	for _, d := range []string{"/run/containerd/s", "/run/containerd", "/var/lib/kubelet/device-plugins", "/var/lib/kubelet",
		"/var/log/containers", "/var/lib/cni/results", "/var/lib/cni/cache/results", "/var/lib/cni/cache", "/var/lib/cni"} {
		_ = syscall.Rmdir(d)
	}
	return errors.Join(errs...)
}
