package memlimit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/heraldlb/herald/internal/mountinfo"
)

// Unlimited is the smallest value taken as "no limit" in a cgroup v1
// memory.limit_in_bytes: an unlimited v1 group reports the largest page
// counter times the page size (9223372036854771712 with 4 KiB pages), not a
// word, and no host has 4 EiB of memory.
const Unlimited int64 = 1 << 62

// Limit is a cgroup memory limit found by Cgroup.
type Limit struct {
	// Bytes is the limit; 0 when no cgroup limits the process's memory.
	Bytes int64
	// File is the file the limit was read from (under the root given to
	// Cgroup), or, with no limit, the last file read; empty when no
	// memory cgroup was found at all.
	File string
	// Version is 1 or 2, the cgroup version File belongs to; 0 when no
	// memory cgroup was found.
	Version int
}

// Cgroup returns the memory limit of the cgroup the process runs in, read
// from the files under root: root/proc/self/cgroup and
// root/proc/self/mountinfo say which cgroup and where it is mounted, and the
// limit is the smallest of that group's and its ancestors' up to the mount's
// root (a container sees its own group at the mount's root). cgroup v2 is
// tried first (memory.max); when its group has no memory controller, as on
// hybrid hosts where cgroup2 holds only a few controllers, cgroup v1's
// memory hierarchy is read (memory.limit_in_bytes). A limit of "max", of
// Unlimited or more, or of the host's whole memory (MemTotal of
// root/proc/meminfo) or more is no limit: Bytes 0.
//
// A process in no memory cgroup, or on a system without cgroups, gets a
// zero Limit and no error; an error means a file that exists could not be
// read or parsed.
func Cgroup(root string) (Limit, error) {
	groups, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if errors.Is(err, fs.ErrNotExist) {
		return Limit{}, nil
	}
	if err != nil {
		return Limit{}, fmt.Errorf("reading the process's cgroups: %w", err)
	}
	mounts, err := os.ReadFile(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return Limit{}, fmt.Errorf("reading the process's mounts: %w", err)
	}
	v1Path, v2Path, v1, v2 := parseCgroups(groups)
	v1Mount, v2Mount := parseMountinfo(mounts)
	var lim Limit
	found := false
	if v2 && v2Mount.point != "" {
		lim, found, err = walk(root, v2Mount, v2Path, "memory.max", 2)
		if err != nil {
			return Limit{}, err
		}
	}
	if !found && v1 && v1Mount.point != "" {
		lim, found, err = walk(root, v1Mount, v1Path, "memory.limit_in_bytes", 1)
		if err != nil {
			return Limit{}, err
		}
	}
	if !found || lim.Bytes == 0 {
		return lim, nil
	}
	total, err := memTotal(root)
	if err != nil {
		return Limit{}, err
	}
	if total > 0 && lim.Bytes >= total {
		lim.Bytes = 0
	}
	return lim, nil
}

// mount is a cgroup file system's mount: the group mounted (its root within
// the hierarchy) and where.
type mount struct{ root, point string }

// parseCgroups reads /proc/self/cgroup: the process's group in cgroup v1's
// memory hierarchy and in the v2 (unified) hierarchy, and whether each line
// was there.
func parseCgroups(b []byte) (v1Path, v2Path string, v1, v2 bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		id, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		ctrls, p, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if id == "0" && ctrls == "" {
			v2Path, v2 = p, true
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			if c == "memory" {
				v1Path, v1 = p, true
			}
		}
	}
	return v1Path, v2Path, v1, v2
}

// parseMountinfo finds, in /proc/self/mountinfo, the first cgroup v1 mount
// of the memory controller and the first cgroup2 mount.
func parseMountinfo(b []byte) (v1, v2 mount) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// 34 30 0:31 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		m := mount{root: mountinfo.Unescape(f[3]), point: mountinfo.Unescape(f[4])}
		switch g[0] {
		case "cgroup2":
			if v2.point == "" {
				v2 = m
			}
		case "cgroup":
			if v1.point != "" {
				continue
			}
			for _, o := range strings.Split(g[2], ",") {
				if o == "memory" {
					v1 = m
				}
			}
		}
	}
	return v1, v2
}

// walk reads name in the process's group (group, a path in the hierarchy)
// and in each ancestor up to the mount's root, and returns the smallest
// limit. found is false when the group's own file does not exist: no memory
// controller in that hierarchy for this group.
func walk(root string, m mount, group, name string, version int) (lim Limit, found bool, err error) {
	rel := "/"
	mroot := path.Clean(m.root)
	if r, ok := strings.CutPrefix(path.Clean(group), mroot); ok && (r == "" || r[0] == '/' || mroot == "/") {
		rel = path.Clean("/" + r)
	}
	lim.Version = version
	for dir := rel; ; dir = path.Dir(dir) {
		file := filepath.Join(root, m.point, dir, name)
		b, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			if !found && dir == rel {
				return Limit{}, false, nil
			}
		} else if err != nil {
			return Limit{}, false, fmt.Errorf("reading the cgroup memory limit: %w", err)
		} else {
			v, err := parseLimit(b)
			if err != nil {
				return Limit{}, false, fmt.Errorf("cgroup memory limit %s: %w", file, err)
			}
			if !found {
				lim.File = file
			}
			found = true
			if v > 0 && (lim.Bytes == 0 || v < lim.Bytes) {
				lim.Bytes, lim.File = v, file
			}
		}
		if dir == "/" {
			return lim, found, nil
		}
	}
}

// parseLimit reads a memory.max or memory.limit_in_bytes: bytes, or "max"
// (v2) or Unlimited and more (v1) for no limit, returned as 0.
func parseLimit(b []byte) (int64, error) {
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a number of bytes nor \"max\"", s)
	}
	if v >= uint64(Unlimited) {
		return 0, nil
	}
	return int64(v), nil
}

// memTotal returns MemTotal of root/proc/meminfo in bytes; 0 when the file
// or the line is missing.
func memTotal(root string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(root, "proc/meminfo"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the host's memory size: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// MemTotal:        8131896 kB
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("proc/meminfo: MemTotal %q: %w", f[0], err)
			}
			return kb << 10, nil
		}
	}
	return 0, nil
}
