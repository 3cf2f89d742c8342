package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cluster is the running node: its processes and how to reach it.
type cluster struct {
	p     paths
	bin   string // the folder of etcd, kube-apiserver, kubectl and the node binaries
	procs []*proc
}

// start starts the process and records it for stop.
func (c *cluster) start(name string, env []string, args ...string) (*proc, error) {
	pr, err := startProc(name, nodeNetns, c.p.logs(), env, args...)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, pr)
	return pr, nil
}

// alive returns an error naming the first of the node's processes that
// has exited.
func (c *cluster) alive() error {
	for _, pr := range c.procs {
		if err := pr.alive(); err != nil {
			return err
		}
	}
	return nil
}

// stop stops the node's processes, the kubelet first and etcd last.
func (c *cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(10 * time.Second)
	}
}

// kubectl runs bin/kubectl against the node's API server.
func (c *cluster) kubectl(ctx context.Context, args ...string) (string, error) {
	return run(ctx, append([]string{filepath.Join(c.bin, "kubectl"), "--kubeconfig", c.p.kubeconfig()}, args...)...)
}

// writeConfigs writes every config file of the node into the run's folder.
func writeConfigs(p paths) error {
	for _, d := range []string{p.logs(), p.etcd(), p.containerdDir(), p.runcRoot(), p.cniConfDir(), p.cniIPAM(),
		p.kubeletDir(), p.images(), p.install(), p.join("pod-logs"), p.join("volume-plugins")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	if err := writePKI(p); err != nil {
		return err
	}
	cni, err := cniConfig(p)
	if err != nil {
		return err
	}
	files := map[string]string{
		p.containerdConfig(): containerdConfig(p),
		filepath.Join(p.cniConfDir(), "10-hnode.conflist"): cni,
		p.kubeletConfig():   kubeletConfig(p),
		p.kubeProxyConfig(): kubeProxyConfig(p),
	}
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return nil
}

// makeCgroupRoot creates the kubelet's cgroupRoot in every cgroup v1
// hierarchy (cgroupfs driver; the machine's cgroups are v1 with a hybrid
// unified mount).
func makeCgroupRoot() error {
	hier, err := filepath.Glob("/sys/fs/cgroup/*/cgroup.procs")
	if err != nil {
		return fmt.Errorf("listing cgroup hierarchies: %w", err)
	}
	for _, h := range hier {
		d := filepath.Join(filepath.Dir(h), strings.TrimPrefix(cgroupRoot, "/"))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating cgroup %s: %w", d, err)
		}
	}
	return nil
}

// startControlPlane starts etcd and kube-apiserver in the node's namespace
// and waits for the API server to be ready.
func (c *cluster) startControlPlane(ctx context.Context) error {
	etcdURL, peerURL := "http://127.0.0.1:2379", "http://127.0.0.1:2380"
	if _, err := c.start("etcd", nil, filepath.Join(c.bin, "etcd"), "--name", "hnode", "--data-dir", c.p.etcd(),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "hnode="+peerURL, "--unsafe-no-fsync", "--log-level", "warn"); err != nil {
		return err
	}
	pki := func(name string) string { return filepath.Join(c.p.pki(), name) }
	if _, err := c.start("kube-apiserver", nil, filepath.Join(c.bin, "kube-apiserver"),
		"--etcd-servers", etcdURL,
		"--bind-address", "0.0.0.0", "--advertise-address", nodeLAN4,
		"--secure-port", strconv.Itoa(apiPort),
		"--cert-dir", c.p.pki(),
		"--tls-cert-file", pki("apiserver.crt"), "--tls-private-key-file", pki("apiserver.key"),
		"--client-ca-file", pki("ca.crt"),
		"--kubelet-client-certificate", pki("admin.crt"), "--kubelet-client-key", pki("admin.key"),
		"--kubelet-preferred-address-types", "InternalIP,Hostname",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", pki("sa.key"), "--service-account-signing-key-file", pki("sa.key"),
		"--service-cluster-ip-range", serviceCIDR4+","+serviceCIDR6,
		"--authorization-mode", "Node,RBAC",
		"--allow-privileged=true",
		"--profiling=false",
		"-v", "1"); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return poll(wctx, 250*time.Millisecond, func() error {
		if err := c.alive(); err != nil {
			return permanent(err)
		}
		_, err := c.kubectl(wctx, "get", "--raw", "/readyz")
		return err
	})
}

// startNode starts the controllers, containerd, the kubelet and
// kube-proxy. importImages runs between containerd and the kubelet, so that
// the first pods find their images.
func (c *cluster) startNode(ctx context.Context, importImages func(ctx context.Context) error) error {
	kc := c.p.kubeconfig()
	pki := func(name string) string { return filepath.Join(c.p.pki(), name) }
	if _, err := c.start("kube-controller-manager", nil, filepath.Join(c.bin, "kube-controller-manager"),
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--service-account-private-key-file", pki("sa.key"), "--root-ca-file", pki("ca.crt"),
		"--use-service-account-credentials", "--leader-elect=false",
		"--bind-address", "127.0.0.1", "--secure-port", "10257", "--cert-dir", filepath.Join(c.p.pki(), "kcm"),
		"-v", "1"); err != nil {
		return err
	}
	if _, err := c.start("kube-scheduler", nil, filepath.Join(c.bin, "kube-scheduler"),
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", "10259",
		"--cert-dir", filepath.Join(c.p.pki(), "scheduler"), "-v", "1"); err != nil {
		return err
	}
	if _, err := c.start("containerd", nil, "containerd", "--config", c.p.containerdConfig()); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := poll(wctx, 100*time.Millisecond, func() error {
		if err := c.alive(); err != nil {
			return permanent(err)
		}
		conn, err := net.Dial("unix", c.p.containerdSocket())
		if err != nil {
			return err
		}
		return conn.Close()
	}); err != nil {
		return fmt.Errorf("waiting for containerd: %w", err)
	}
	if err := importImages(ctx); err != nil {
		return err
	}
	if _, err := c.start("kubelet", nil, filepath.Join(c.bin, "kubelet"),
		"--config", c.p.kubeletConfig(), "--kubeconfig", kc,
		"--root-dir", c.p.kubeletDir(), "--cert-dir", filepath.Join(c.p.kubeletDir(), "pki"),
		"--hostname-override", nodeName, "--node-ip", nodeLAN4+","+nodeLAN6, "-v", "1"); err != nil {
		return err
	}
	if _, err := c.start("kube-proxy", nil, filepath.Join(c.bin, "kube-proxy"),
		"--config", c.p.kubeProxyConfig(), "-v", "1"); err != nil {
		return err
	}
	wctx, cancel = context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	if err := poll(wctx, 250*time.Millisecond, func() error {
		if err := c.alive(); err != nil {
			return permanent(err)
		}
		out, err := c.kubectl(wctx, "get", "node", nodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) != "True" {
			return fmt.Errorf("node %s not Ready (%q)", nodeName, out)
		}
		_, err = c.kubectl(wctx, "-n", "default", "get", "serviceaccount", "default")
		return err
	}); err != nil {
		return fmt.Errorf("waiting for node %s to be Ready: %w", nodeName, err)
	}
	return nil
}

// ctr runs Debian's ctr against the node's containerd, in the k8s.io
// namespace the CRI plugin reads.
func (c *cluster) ctr(ctx context.Context, args ...string) (string, error) {
	return run(ctx, append([]string{"ctr", "--address", c.p.containerdSocket(), "-n", "k8s.io"}, args...)...)
}
