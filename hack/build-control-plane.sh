#!/usr/bin/env bash
# Builds the test control plane herald's integration tests and lab run against:
# etcd from Debian's etcd-server package, and kube-apiserver and kubectl compiled
# from the k8s.io/kubernetes module at the same minor version as the project's
# k8s.io/api. The results land in bin/ (git-ignored) and are reused when present.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
mkdir -p "$bin"

say() { printf '==> %s\n' "$*"; }

if ! command -v etcd >/dev/null 2>&1; then
  say "installing Debian's etcd-server (etcd for the test API server)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
fi
ln -sf "$(command -v etcd)" "$bin/etcd"

exec "$root/hack/build-kube.sh" control-plane kube-apiserver kubectl
