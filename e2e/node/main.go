package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"net/netip"

	"github.com/heraldlb/herald/internal/frrproc"
)

// e2e is one run: its node, its router and its report.
type e2e struct {
	root    string // the module root
	base    string // the kustomization kubectl apply -k installs
	cluster *cluster
	router  *frrproc.Instance
	report  *report
	images  heraldImages
	// withdrawn holds the BGP Service's IPs between a phase's checks and its
	// uninstall, which checks they are withdrawn.
	withdrawn []netip.Addr
}

func main() {
	var (
		dir     = flag.String("dir", filepath.Join(os.TempDir(), "hnode"), "the run's folder (removed at the end)")
		clean   = flag.Bool("clean", false, "only remove what a killed run left, then exit")
		keep    = flag.Bool("keep", false, "leave the node running at the end, for a look (then run with -clean)")
		timeout = flag.Duration("timeout", 20*time.Minute, "the whole run's limit")
		base    = flag.String("base", "config/default", "the kustomization installed by `kubectl apply -k` (through an overlay renaming its images), relative to the module root")
		phases  = flag.String("install", "kustomize,helm", "the installs to check, in order: kustomize, helm; none only brings the node up")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(realMain(ctx, *dir, *base, *clean, *keep, *timeout, strings.FieldsFunc(strings.ReplaceAll(*phases, "none", ""), func(r rune) bool { return r == ',' })))
}

func realMain(ctx context.Context, dir, base string, clean, keep bool, timeout time.Duration, phases []string) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "e2e-node: needs root (network namespaces, containerd, the kubelet)")
		return 1
	}
	unlock, err := lock(ctx, dir+".lock")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e-node:", err)
		return 1
	}
	defer unlock()
	p := paths{dir: dir}
	if clean {
		if err := cleanup(context.WithoutCancel(ctx), p); err != nil {
			fmt.Fprintln(os.Stderr, "e2e-node: cleanup:", err)
			return 1
		}
		fmt.Println("==> e2e-node: cleaned up")
		return 0
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e-node:", err)
		return 1
	}
	e := &e2e{root: root, base: filepath.Join(root, base), report: &report{w: os.Stdout}, cluster: &cluster{p: p, bin: filepath.Join(root, "bin")}}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := cleanup(ctx, p); err != nil {
		fmt.Fprintln(os.Stderr, "e2e-node: removing a previous run's leftovers:", err)
		return 1
	}
	defer func() {
		if keep {
			fmt.Printf("==> e2e-node: left running (-keep): KUBECONFIG=%s; `go run ./e2e/node -clean` removes it\n", p.kubeconfig())
			return
		}
		t := time.Now()
		if e.router != nil {
			_ = e.router.Stop(context.WithoutCancel(ctx))
		}
		e.cluster.stop()
		if err := cleanup(context.WithoutCancel(ctx), p); err != nil {
			fmt.Fprintln(os.Stderr, "e2e-node: cleanup:", err)
		}
		fmt.Printf("==> e2e-node: torn down in %s\n", time.Since(t).Round(100*time.Millisecond))
	}()
	if err := e.up(ctx, len(phases) > 0); err != nil {
		e.dumpLogs()
		fmt.Println(e.report.summary())
		return 1
	}
	for _, name := range phases {
		in, err := e.installer(name)
		if err != nil {
			e.report.check("install "+name, func() error { return err })
			continue
		}
		e.phase(ctx, in)
	}
	fmt.Printf("==> e2e-node: %s in %s\n", e.report.summary(), time.Since(start).Round(100*time.Millisecond))
	fmt.Println(e.report.summary())
	if e.report.failed > 0 {
		return 1
	}
	return 0
}

// up brings up the network, the router and the node, and imports the
// images.
func (e *e2e) up(ctx context.Context, herald bool) error {
	r, c := e.report, e.cluster
	var archives []string
	if err := r.check("images: herald's from bin/images, pause and web built", func() (err error) {
		if archives, err = buildTestImages(ctx, c.p, e.root); err != nil || !herald {
			return err
		}
		if e.images, err = readImagesEnv(filepath.Join(e.root, "bin", "images")); err != nil {
			return err
		}
		archives = append(archives, e.images.HeraldArchive, e.images.FRRArchive)
		return nil
	}); err != nil {
		return err
	}
	if err := r.check("network: namespaces "+nodeNetns+" and "+rtrNetns+", LAN and host link", func() error {
		if err := writeConfigs(c.p); err != nil {
			return err
		}
		if err := makeCgroupRoot(); err != nil {
			return err
		}
		return buildNetwork(ctx)
	}); err != nil {
		return err
	}
	if err := r.check("router: FRR (AS 64500) in "+rtrNetns, func() (err error) {
		e.router, err = frrproc.Start(ctx, frrproc.Options{Name: frrName, Netns: rtrNetns, Daemons: []string{"bgpd", "bfdd"}, Config: routerConfig()})
		return err
	}); err != nil {
		return err
	}
	if err := r.check("control plane: etcd and kube-apiserver ready", func() error { return c.startControlPlane(ctx) }); err != nil {
		return err
	}
	if err := r.check("node "+nodeName+": controllers, containerd, images imported, kubelet, kube-proxy; Node Ready", func() error {
		return c.startNode(ctx, func(ctx context.Context) error {
			return c.importImages(ctx, archives...)
		})
	}); err != nil {
		return err
	}
	return r.check("pods: two web pods Ready (sandbox, CNI, image)", func() error {
		if err := c.apply(ctx, "web", webDeployment()); err != nil {
			return err
		}
		_, err := c.kubectl(ctx, "-n", "default", "rollout", "status", "deployment/web", "--timeout", "120s")
		return err
	})
}

// installer returns the install named on the command line.
func (e *e2e) installer(name string) (installer, error) {
	switch name {
	case "kustomize":
		return e.kustomizeInstaller()
	case "helm":
		return e.helmInstaller()
	}
	return installer{}, fmt.Errorf("unknown install %q: want kustomize or helm", name)
}

var imageRE = regexp.MustCompile(`(?m)^\s*(?:-\s+)?image:\s*"?([^"\s]+)"?\s*$`)

// kustomizeInstaller installs config/default as users do, through an
// overlay that only renames its images to the locally built ones.
func (e *e2e) kustomizeInstaller() (installer, error) {
	c := e.cluster
	base := e.base
	dir := filepath.Join(c.p.install(), "kustomize")
	in := installer{name: "kubectl apply -k"}
	in.install = func(ctx context.Context) error {
		out, err := c.kubectl(ctx, "kustomize", base)
		if err != nil {
			return fmt.Errorf("config/default does not build: %w", err)
		}
		rename := map[string]string{}
		var names []string
		for _, m := range imageRE.FindAllStringSubmatch(out, -1) {
			name := imageName(m[1])
			if _, ok := rename[name]; ok {
				continue
			}
			rename[name] = e.images.Herald
			if strings.Contains(name, "frr") {
				rename[name] = e.images.FRR
			}
			names = append(names, name)
		}
		slices.Sort(names)
		if len(names) == 0 {
			return errors.New("config/default names no image")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, base) // kustomize wants a relative path to a base
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization(rel, rename, names)), 0o644); err != nil {
			return err
		}
		_, err = c.kubectl(ctx, "apply", "-k", dir)
		return err
	}
	in.uninstall = func(ctx context.Context) error {
		_, err := c.kubectl(ctx, "delete", "-k", dir, "--wait", "--timeout", "120s")
		return err
	}
	return in, nil
}

// imageName strips the tag or digest from an image reference.
func imageName(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}

// moduleRoot finds the folder holding herald's go.mod above the working
// folder.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working folder: run from herald's module")
		}
		dir = parent
	}
}

// lock takes an exclusive lock so that two runs (two work trees' make
// test) never share the node's names and host paths; it waits for another
// run to end, up to 30 minutes or until ctx ends.
func lock(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	said := false
	if err := poll(ctx, time.Second, func() error {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != nil && !said {
			fmt.Printf("==> e2e-node: waiting for another run, which holds %s\n", path)
			said = true
		}
		return err
	}); err != nil {
		f.Close()
		return nil, fmt.Errorf("another e2e-node run holds %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// dumpLogs prints the tail of each process log, for a node that did not
// come up.
func (e *e2e) dumpLogs() {
	for _, pr := range e.cluster.procs {
		b, err := os.ReadFile(pr.log)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Printf("----- %s (last lines)\n%s\n", pr.name, strings.Join(lines, "\n"))
	}
}
