#!/usr/bin/env bash
# Builds the test control plane herald's integration tests and lab run against:
# etcd from Debian's etcd-server package, and kube-apiserver and kubectl compiled
# from the k8s.io/kubernetes module at the same minor version as the project's
# k8s.io/api. The results land in bin/ (git-ignored) and are reused when present.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
mkdir -p "$bin"

api_version=$(cd "$root" && go list -m -f '{{.Version}}' k8s.io/api)   # v0.37.2
kube_version="v1${api_version#v0}"                                      # v1.37.2
stamp="$bin/.control-plane-$kube_version"

say() { printf '==> %s\n' "$*"; }

if ! command -v etcd >/dev/null 2>&1; then
  say "installing Debian's etcd-server (etcd for the test API server)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
fi
ln -sf "$(command -v etcd)" "$bin/etcd"

if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kubectl" ] && [ -f "$stamp" ]; then
  say "kube-apiserver and kubectl $kube_version already built in bin/"
  exit 0
fi
# A machine-wide cache outside the work tree lets a fresh clone (CI) skip the
# five-minute compile when this machine has built the same version before.
cache="${HERALD_CACHE:-$HOME/.cache/herald}/control-plane-$kube_version"
if [ -x "$cache/kube-apiserver" ] && [ -x "$cache/kubectl" ]; then
  say "reusing kube-apiserver and kubectl $kube_version from $cache"
  cp "$cache/kube-apiserver" "$cache/kubectl" "$bin/"
  rm -f "$bin"/.control-plane-*; touch "$stamp"
  exit 0
fi

say "compiling kube-apiserver and kubectl $kube_version from the k8s.io/kubernetes module (about five minutes the first time)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > go.mod <<MOD
module herald.local/controlplane

go 1.26
MOD
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
# k8s.io/kubernetes points each staging module at ./staging; point them at the
# published v0.x.y of the same release instead.
mod=$(go mod download -json "k8s.io/kubernetes@$kube_version" 2>/dev/null | sed -n 's/.*"GoMod": "\(.*\)",/\1/p') || true
[ -f "$mod" ] || { echo "could not download k8s.io/kubernetes@$kube_version's go.mod" >&2; exit 1; }
sed -n '/^replace (/,/^)/p' "$mod" | sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' | while read -r m; do
  go mod edit -replace "$m=$m@$api_version"
done
go mod edit -require "k8s.io/kubernetes@$kube_version"
GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || GOFLAGS=-mod=mod go get "k8s.io/kubernetes@$kube_version"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$kube_version" -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$kube_version" -o "$bin/kubectl" k8s.io/kubernetes/cmd/kubectl
rm -f "$bin"/.control-plane-*
touch "$stamp"
mkdir -p "$cache" && cp "$bin/kube-apiserver" "$bin/kubectl" "$cache/"
say "built bin/kube-apiserver and bin/kubectl ($kube_version)"
