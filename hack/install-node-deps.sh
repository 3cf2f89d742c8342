#!/usr/bin/env bash
# Installs the Debian packages the real-node e2e (make e2e-node) runs on, when
# missing: containerd and runc (the container runtime; the e2e runs its own
# containerd with its own config, root, state and socket, never the host's
# service), the CNI plugins (bridge, host-local, loopback, portmap), iptables
# (kube-proxy's mode), conntrack, and busybox-static (the backend pods' httpd).
# Needs root.
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in containerd runc containernetworking-plugins iptables conntrack busybox-static ethtool; do
  have "$p" || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then
  echo "==> Debian packages for the real node present (containerd, runc, containernetworking-plugins, iptables, conntrack, busybox-static)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]}; run as root or install them" >&2
  exit 1
fi
echo "==> installing Debian packages for the real node: ${need[*]}"
apt-get update -qq
# policy-rc.d keeps the packages' services from starting: the e2e runs its
# own containerd; the host's must not hold /run/containerd.
had_policy=false; [ -e /usr/sbin/policy-rc.d ] && had_policy=true
$had_policy || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
trap '$had_policy || rm -f /usr/sbin/policy-rc.d' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
systemctl disable --now containerd >/dev/null 2>&1 || true
