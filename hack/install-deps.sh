#!/usr/bin/env bash
# Installs the Debian packages herald's tests and lab run on, when missing:
# FRR (the routing daemons the speaker drives, frr-reload.py), etcd, BIRD 2
# and GoBGP (the lab's other routers), the network tools the lab and e2e
# tests use, mmdebstrap (builds the FRR image's root file system from Debian
# 13) and containerd + runc (to check that the image archives import; the
# host's containerd service is never started) and Prometheus (Debian 12's
# 2.42: promtool checks and unit-tests config/prometheus's alert rules, and
# e2e/observability scrapes the lab with its own prometheus process). Needs
# root.
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in frr frr-pythontools etcd-server bird2 gobgpd iproute2 arping ndisc6 tcpdump iputils-ping psmisc procps curl jq mmdebstrap containerd runc prometheus; do
  have "$p" || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then
  echo "==> Debian packages present (frr, frr-pythontools, etcd-server, bird2, gobgpd, iproute2, arping, ndisc6, tcpdump, mmdebstrap, containerd, prometheus)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]}; run as root or install them" >&2
  exit 1
fi
echo "==> installing Debian packages: ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The packaged FRR, BIRD, GoBGP, containerd and Prometheus services are not used: herald
# starts its own instances (in network namespaces; tests run their own
# containerd with its own config, root, state and socket). Keep the host's
# from holding sockets.
systemctl disable --now frr bird gobgpd containerd prometheus prometheus-node-exporter >/dev/null 2>&1 || true
