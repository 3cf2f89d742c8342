package ociimage

import (
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config is the runtime part of an image's configuration: what a container
// started from the image runs, as whom and with which environment.
type Config struct {
	// Entrypoint and Cmd are the command the container runs.
	Entrypoint []string
	Cmd        []string
	// Env holds KEY=VALUE pairs.
	Env []string
	// User is "uid", "uid:gid" or a user name from the image's /etc/passwd.
	User string
	// WorkingDir is the container's current directory; "" means /.
	WorkingDir string
	// Labels are the image's labels (org.opencontainers.image.* and others).
	Labels map[string]string
}

// Image says everything needed to write one archive.
type Image struct {
	// Name is the image's fully qualified reference, such as
	// localhost/herald:v1.2.0. A name with no registry host or no tag is
	// refused: CRI would turn "herald:1" into docker.io/library/herald:1.
	Name string
	// Root is the directory whose tree becomes the image's one layer.
	Root string
	// Ownership sets the owners and modes the layer records.
	Ownership Ownership
	// Config is the container configuration.
	Config Config
	// Created is the time written in the config and on every tar entry.
	// The zero value means the Unix epoch, so that builds are reproducible.
	Created time.Time
	// OS and Architecture name the image's platform; "" means linux and the
	// architecture this program runs on.
	OS, Architecture string
	// Gzip compresses the layer (media type ...tar+gzip); otherwise the layer
	// is a plain tar and its digest equals its diffID.
	Gzip bool
}

// Attr is an owner and a permission mode for one path of the layer.
type Attr struct {
	// UID and GID own the entry; -1 leaves that one as Ownership would
	// otherwise decide.
	UID, GID int
	// Mode holds the permission bits, including setuid, setgid and sticky
	// (fs.ModeSetuid, fs.ModeSetgid, fs.ModeSticky).
	Mode fs.FileMode
}

// Ownership decides the owner and mode of every entry of the layer.
//
// By default every entry belongs to UID:GID, directories get mode 0755,
// regular files 0755 when any execute bit is set on the source and 0644
// otherwise, and symbolic links 0777. With Keep, owner and mode are taken
// from the source tree as they are (for a root file system built as root by
// a package manager, whose owners are meaningful). Paths in Override, given
// as absolute paths inside the image ("/tmp"), win over both.
type Ownership struct {
	UID, GID int
	Keep     bool
	Override map[string]Attr
}

// ParseAttr reads an override in the form PATH=MODE[:UID:GID], e.g.
// "/tmp=1777" or "/home/nonroot=0700:65532:65532", with MODE in octal.
// Without UID:GID the owner stays as Ownership otherwise decides.
func ParseAttr(s string) (string, Attr, error) {
	path, spec, ok := strings.Cut(s, "=")
	if !ok || !strings.HasPrefix(path, "/") || spec == "" {
		return "", Attr{}, fmt.Errorf("override %q: want /PATH=MODE[:UID:GID], e.g. /tmp=1777", s)
	}
	parts := strings.Split(spec, ":")
	if len(parts) != 1 && len(parts) != 3 {
		return "", Attr{}, fmt.Errorf("override %q: want /PATH=MODE or /PATH=MODE:UID:GID", s)
	}
	m, err := strconv.ParseUint(parts[0], 8, 32)
	if err != nil || m > 07777 {
		return "", Attr{}, fmt.Errorf("override %q: mode %q is not an octal mode up to 7777", s, parts[0])
	}
	a := Attr{UID: -1, GID: -1, Mode: fromUnixMode(int64(m))}
	if len(parts) == 3 {
		if a.UID, err = parseID(parts[1]); err != nil {
			return "", Attr{}, fmt.Errorf("override %q: uid: %w", s, err)
		}
		if a.GID, err = parseID(parts[2]); err != nil {
			return "", Attr{}, fmt.Errorf("override %q: gid: %w", s, err)
		}
	}
	return cleanImagePath(path), a, nil
}

// ParseUser checks a USER value: "uid", "uid:gid", "name" or "name:group".
func ParseUser(s string) error {
	if s == "" {
		return nil
	}
	u, g, hasGroup := strings.Cut(s, ":")
	if u == "" || (hasGroup && g == "") || strings.ContainsAny(s, " \t\n") {
		return fmt.Errorf("user %q: want UID[:GID] or NAME[:GROUP], e.g. 65532:65532", s)
	}
	return nil
}

func parseID(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number from 0 to 2147483647", s)
	}
	return int(n), nil
}

func cleanImagePath(p string) string {
	p = "/" + strings.Trim(p, "/")
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}

// validateName refuses references containerd's CRI would rewrite or that a
// pod could never pull from this machine: no host part, no tag, or latest.
func validateName(name string) error {
	first, last := strings.Index(name, "/"), strings.LastIndex(name, "/")
	colon := strings.LastIndex(name, ":")
	switch {
	case name == "":
		return fmt.Errorf("image name is empty: give a fully qualified name such as localhost/herald:v1")
	case strings.ContainsAny(name, " \t\n@"):
		return fmt.Errorf("image name %q: spaces and digests are not allowed, give HOST/NAME:TAG", name)
	case first < 0 || !(strings.ContainsAny(name[:first], ".:") || name[:first] == "localhost"):
		return fmt.Errorf("image name %q has no registry host: use a fully qualified name such as localhost/%s (CRI would otherwise read it as docker.io/...)", name, name)
	case colon < last || colon == len(name)-1:
		return fmt.Errorf("image name %q has no tag: add one such as :v1 (never :latest)", name)
	case name[colon+1:] == "latest":
		return fmt.Errorf("image name %q uses :latest, which makes kubelet pull it always: use a version tag", name)
	}
	return nil
}

func (img *Image) platform() (string, string) {
	osName, arch := img.OS, img.Architecture
	if osName == "" {
		osName = "linux"
	}
	if arch == "" {
		arch = runtime.GOARCH
	}
	return osName, arch
}

func (img *Image) created() time.Time {
	if img.Created.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return img.Created.UTC()
}
