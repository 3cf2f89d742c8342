package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
)

// Names and addresses of the node's topology. All are documentation ranges,
// distinct from the lab's (e2e/lab/plan.go: 203.0.113.1 for its API server,
// 203.0.113.128/25 for ClusterIPs, 198.51.100.0/24 LAN, 192.0.2.0/24 VIPs in
// 192.0.2.0/26 and .64-.95): the two never run at once, but a leftover of
// one must not be mistaken for the other's.
const (
	prefix     = "hnode-"
	nodeNetns  = prefix + "node" // the node: control plane, containerd, kubelet, pods
	rtrNetns   = prefix + "rtr"  // the router: FRR
	hostLink   = prefix + "host" // root namespace end of the API server link
	nodeName   = prefix + "1"    // the Kubernetes Node's name
	frrName    = prefix + "rtr"  // the router's FRR pathspace
	cgroupRoot = "/hnode"        // the kubelet's cgroupRoot in every v1 hierarchy

	hostAddr   = "203.0.113.65" // /30 in the root namespace: a small prefix only
	apiAddr    = "203.0.113.66" // the node's end: where the harness reaches the API server
	linkPrefix = 30

	lanPrefix4 = "198.51.100.128/27"
	rtrLAN4    = "198.51.100.129"
	nodeLAN4   = "198.51.100.130"
	lanPrefix6 = "2001:db8:1e0::/64"
	rtrLAN6    = "2001:db8:1e0::129"
	nodeLAN6   = "2001:db8:1e0::130"

	podCIDR4     = "198.51.100.192/26"
	podCIDR6     = "2001:db8:1f0::/64"
	serviceCIDR4 = "203.0.113.96/27"
	serviceCIDR6 = "2001:db8:1ec::/112"
	kubernetesIP = "203.0.113.97" // the first address of serviceCIDR4

	bgpPool4 = "192.0.2.224/28"
	bgpPool6 = "2001:db8:2e0::/124"
	l2Pool4  = "198.51.100.144/28" // inside the LAN, so ARP for it is the router's own business
	l2Pool6  = "2001:db8:1e0::1:0/124"

	rtrASN  = 64500
	nodeASN = 64512

	apiPort = 6443

	// pauseImage is the sandbox image containerd asks for; the e2e builds it
	// (a static Go program) and imports it under this name.
	pauseImage = "registry.k8s.io/pause:3.10"
	// webImage is the backend pods' image: a static Go HTTP server that
	// answers with its pod's name.
	webImage = "localhost/herald-e2e-web:1"

	// markerEnv is set on every process the e2e starts, so that -clean and
	// the next run find leftovers by it.
	markerEnv = "HERALD_E2E_NODE=1"
)

// paths are the files and folders of one run under its directory.
type paths struct{ dir string }

func (p paths) join(elem ...string) string { return filepath.Join(append([]string{p.dir}, elem...)...) }
func (p paths) pki() string                { return p.join("pki") }
func (p paths) kubeconfig() string         { return p.join("kubeconfig") }
func (p paths) logs() string               { return p.join("logs") }
func (p paths) etcd() string               { return p.join("etcd") }
func (p paths) containerdDir() string      { return p.join("containerd") }
func (p paths) containerdConfig() string   { return p.join("containerd", "config.toml") }
func (p paths) containerdSocket() string   { return p.join("containerd", "c.sock") }
func (p paths) runcRoot() string           { return p.join("runc") }
func (p paths) cniConfDir() string         { return p.join("cni", "net.d") }
func (p paths) cniIPAM() string            { return p.join("cni", "ipam") }
func (p paths) kubeletDir() string         { return p.join("kubelet") }
func (p paths) kubeletConfig() string      { return p.join("kubelet.yaml") }
func (p paths) kubeProxyConfig() string    { return p.join("kube-proxy.yaml") }
func (p paths) images() string             { return p.join("images") }
func (p paths) install() string            { return p.join("install") }

// containerdConfig renders containerd 1.6's config: its own root, state,
// sockets and runc root under the run's folder, the CRI plugin with
// restrict_oom_score_adj (root here lacks CAP_SYS_RESOURCE, and runc fails
// every sandbox the kubelet asks -998 for), netns mounts under the state
// folder, cgroupfs, and CNI from Debian's plugins with this run's config.
func containerdConfig(p paths) string {
	d := p.containerdDir()
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = %q
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
    max_conf_num = 1
`, filepath.Join(d, "root"), filepath.Join(d, "state"), p.containerdSocket(), p.containerdSocket()+".ttrpc",
		filepath.Join(d, "opt"), pauseImage, p.runcRoot(), p.cniConfDir())
}

// cniConfig renders the node's CNI network: a bridge in the node's
// namespace, dual-stack host-local addresses from the pod CIDRs (their state
// under the run's folder, not /var/lib/cni), masquerade for traffic leaving
// the pod network, and portmap.
func cniConfig(p paths) (string, error) {
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "hnode",
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      "cni0",
				"isGateway":   true,
				"ipMasq":      true,
				"hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": p.cniIPAM(),
					"ranges": []any{
						[]any{map[string]string{"subnet": podCIDR4}},
						[]any{map[string]string{"subnet": podCIDR6}},
					},
					"routes": []any{map[string]string{"dst": "0.0.0.0/0"}, map[string]string{"dst": "::/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return "", fmt.Errorf("rendering the CNI config: %w", err)
	}
	return string(b) + "\n", nil
}

// kubeletConfig renders the KubeletConfiguration: cgroup v1 allowed
// (failCgroupV1: false), cgroupfs under its own cgroupRoot, containerd's
// socket, client certificates from the run's CA, no anonymous access, and
// eviction thresholds low enough not to fire on a shared build machine.
func kubeletConfig(p paths) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupRoot: %s
containerRuntimeEndpoint: unix://%s
address: %s
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: %s
tlsPrivateKeyFile: %s
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: %s
authorization:
  mode: AlwaysAllow
podLogsDir: %s
volumePluginDir: %s
resolvConf: ""
serializeImagePulls: false
registerNode: true
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
fileCheckFrequency: 10s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%%
  nodefs.inodesFree: 1%%
  imagefs.available: 1%%
`, cgroupRoot, p.containerdSocket(), nodeLAN4,
		filepath.Join(p.pki(), "kubelet.crt"), filepath.Join(p.pki(), "kubelet.key"), filepath.Join(p.pki(), "ca.crt"),
		p.join("pod-logs"), p.join("volume-plugins"))
}

// kubeProxyConfig renders kube-proxy's config: iptables mode, dual-stack
// cluster CIDRs, and conntrack left alone (its sysctls are machine-wide).
func kubeProxyConfig(p paths) string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
hostnameOverride: %s
clusterCIDR: %s,%s
clientConnection:
  kubeconfig: %s
bindAddress: 0.0.0.0
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`, nodeName, podCIDR4, podCIDR6, p.kubeconfig())
}

// routerConfig renders the router's frr.conf: AS rtrASN, passive eBGP
// sessions with any address of the LAN over IPv4 and IPv6, each with BFD
// (FRR's default timers, 300 ms × 3), ECMP, every route accepted and none
// sent back.
func routerConfig() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("frr defaults traditional")
	w("hostname %s", frrName)
	w("log file /var/run/frr/%s/frr.log informational", frrName)
	w("service integrated-vtysh-config")
	w("ip forwarding")
	w("ipv6 forwarding")
	w("!")
	w("route-map accept-all permit 10")
	w("exit")
	w("route-map send-none deny 10")
	w("exit")
	w("!")
	w("router bgp %d", rtrASN)
	w(" bgp router-id %s", rtrLAN4)
	w(" no bgp ebgp-requires-policy")
	w(" no bgp default ipv4-unicast")
	w(" bgp bestpath as-path multipath-relax")
	for _, g := range []string{"nodes", "nodes6"} {
		w(" neighbor %s peer-group", g)
		w(" neighbor %s remote-as external", g)
		w(" neighbor %s timers 3 9", g)
		w(" neighbor %s bfd", g)
	}
	w(" bgp listen range %s peer-group nodes", lanPrefix4)
	w(" bgp listen range %s peer-group nodes6", lanPrefix6)
	for _, af := range []string{"ipv4", "ipv6"} {
		w(" !")
		w(" address-family %s unicast", af)
		w("  maximum-paths 8")
		for _, g := range []string{"nodes", "nodes6"} {
			w("  neighbor %s activate", g)
			w("  neighbor %s route-map accept-all in", g)
			w("  neighbor %s route-map send-none out", g)
		}
		w(" exit-address-family")
	}
	w("exit")
	w("!")
	return b.String()
}
