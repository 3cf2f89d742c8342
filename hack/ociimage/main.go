// Command ociimage writes a one-layer OCI image-layout tar from a directory,
// for `ctr -n k8s.io images import`, with no registry and no external tool:
//
//	go run ./hack/ociimage -o OUT.tar -name localhost/NAME:TAG -rootfs DIR \
//	    [-entrypoint /x] [-cmd ARG]... [-user 65532:65532] [-env K=V]... \
//	    [-workdir /] [-label K=V]... [-owner 0:0 | -keep-owners] [-mode /tmp=1777]...
//
// Every entry belongs to -owner (0:0 by default) with normalized modes
// (directories 0755, files 0755 or 0644 by their execute bit) unless
// -keep-owners takes owners and modes from the tree (for a root file system
// made as root by a package manager); -mode overrides single paths.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/heraldlb/herald/internal/ociimage"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ociimage:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("ociimage", flag.ContinueOnError)
	var (
		out        = fs.String("o", "", "output archive (OCI image layout, tar)")
		name       = fs.String("name", "", "fully qualified image name, e.g. localhost/herald:v1.2.0")
		rootfs     = fs.String("rootfs", "", "directory whose tree becomes the image's layer")
		entrypoint = fs.String("entrypoint", "", "entrypoint (one path; use -cmd for arguments)")
		user       = fs.String("user", "", "user the container runs as, UID[:GID]")
		workdir    = fs.String("workdir", "", "working directory")
		owner      = fs.String("owner", "0:0", "UID:GID every entry belongs to")
		keep       = fs.Bool("keep-owners", false, "take owners and modes from the tree instead of -owner")
		gz         = fs.Bool("gzip", true, "compress the layer")
		epoch      = fs.Int64("created", envEpoch(), "creation time and mtime of every entry, in Unix seconds (default $SOURCE_DATE_EPOCH or 0)")
		cmd, env   list
		labels     list
		modes      list
	)
	fs.Var(&cmd, "cmd", "an argument of the image's CMD (repeat)")
	fs.Var(&env, "env", "K=V in the image's environment (repeat)")
	fs.Var(&labels, "label", "K=V image label (repeat)")
	fs.Var(&modes, "mode", "PATH=MODE[:UID:GID] override for one path, e.g. /tmp=1777 (repeat)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *name == "" || *rootfs == "" || fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("-o, -name and -rootfs are required and nothing else may follow the flags")
	}
	img := ociimage.Image{
		Name:    *name,
		Root:    *rootfs,
		Created: time.Unix(*epoch, 0),
		Gzip:    *gz,
		Config:  ociimage.Config{Cmd: cmd, User: *user, WorkingDir: *workdir},
	}
	if *entrypoint != "" {
		img.Config.Entrypoint = []string{*entrypoint}
	}
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("-env %q: want KEY=VALUE", kv)
		}
		img.Config.Env = append(img.Config.Env, kv)
	}
	for _, kv := range labels {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("-label %q: want KEY=VALUE", kv)
		}
		if img.Config.Labels == nil {
			img.Config.Labels = map[string]string{}
		}
		img.Config.Labels[k] = v
	}
	if *keep {
		img.Ownership.Keep = true
	} else {
		u, g, ok := strings.Cut(*owner, ":")
		if _, err := fmt.Sscanf(u+" "+g, "%d %d", &img.Ownership.UID, &img.Ownership.GID); err != nil || !ok {
			return fmt.Errorf("-owner %q: want UID:GID, e.g. 0:0", *owner)
		}
	}
	for _, m := range modes {
		p, a, err := ociimage.ParseAttr(m)
		if err != nil {
			return fmt.Errorf("-mode: %w", err)
		}
		if img.Ownership.Override == nil {
			img.Ownership.Override = map[string]ociimage.Attr{}
		}
		img.Ownership.Override[p] = a
	}
	start := time.Now()
	res, err := ociimage.WriteFile(*out, img)
	if err != nil {
		return err
	}
	fmt.Printf("%s -> %s (manifest %s, layer %.1f MiB, %.1fs)\n", res.Name, *out, res.Manifest.Digest, float64(res.Layer.Size)/(1<<20), time.Since(start).Seconds())
	return nil
}

func envEpoch() int64 {
	var n int64
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		fmt.Sscanf(s, "%d", &n)
	}
	return n
}
