#!/usr/bin/env bash
# Builds Kubernetes commands from the k8s.io/kubernetes module at the same
# minor version as the project's k8s.io/api: a throw-away module requires
# k8s.io/kubernetes and replaces each staging module it names with the
# published v0.x.y of the same release; CGO off, -trimpath. Reproducible, so
# the results are cached by version in ~/.cache/herald/<set>-<version>/ and
# copied into bin/.
#
#   hack/build-kube.sh SET CMD...   e.g. hack/build-kube.sh node kubelet kube-proxy
#
# SET names the cache folder (control-plane, node); each CMD is a folder under
# k8s.io/kubernetes/cmd/.
set -euo pipefail

set_name=$1; shift
cmds=("$@")
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
mkdir -p "$bin"

api_version=$(cd "$root" && go list -m -f '{{.Version}}' k8s.io/api)   # v0.37.2
kube_version="v1${api_version#v0}"                                      # v1.37.2
stamp="$bin/.$set_name-$kube_version"

say() { printf '==> %s\n' "$*"; }

have_all() {
  local dir=$1 c
  for c in "${cmds[@]}"; do [ -x "$dir/$c" ] || return 1; done
}

if have_all "$bin" && [ -f "$stamp" ]; then
  say "${cmds[*]} $kube_version already built in bin/"
  exit 0
fi
# A machine-wide cache outside the work tree lets a fresh clone (CI) skip the
# compile when this machine has built the same version before.
cache="${HERALD_CACHE:-$HOME/.cache/herald}/$set_name-$kube_version"
if have_all "$cache"; then
  say "reusing ${cmds[*]} $kube_version from $cache"
  for c in "${cmds[@]}"; do cp "$cache/$c" "$bin/"; done
  rm -f "$bin/.$set_name"-*; touch "$stamp"
  exit 0
fi

say "compiling ${cmds[*]} $kube_version from the k8s.io/kubernetes module"
start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > go.mod <<MOD
module herald.local/kube$set_name

go 1.26
MOD
{
  printf '//go:build tools\n\npackage tools\n\nimport (\n'
  for c in "${cmds[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
  printf ')\n'
} > tools.go
# k8s.io/kubernetes points each staging module at ./staging; point them at the
# published v0.x.y of the same release instead.
mod=$(go mod download -json "k8s.io/kubernetes@$kube_version" 2>/dev/null | sed -n 's/.*"GoMod": "\(.*\)",/\1/p') || true
[ -f "$mod" ] || { echo "could not download k8s.io/kubernetes@$kube_version's go.mod" >&2; exit 1; }
sed -n '/^replace (/,/^)/p' "$mod" | sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' | while read -r m; do
  go mod edit -replace "$m=$m@$api_version"
done
go mod edit -require "k8s.io/kubernetes@$kube_version"
GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || GOFLAGS=-mod=mod go get "k8s.io/kubernetes@$kube_version"
mkdir out
pkgs=()
for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
# One go build for every command: the packages they share compile once.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$kube_version" -o out/ "${pkgs[@]}"
mkdir -p "$cache"
for c in "${cmds[@]}"; do
  cp "out/$c" "$cache/$c.tmp.$$" && mv "$cache/$c.tmp.$$" "$cache/$c"
  cp "out/$c" "$bin/"
done
rm -f "$bin/.$set_name"-*
touch "$stamp"
say "built ${cmds[*]} $kube_version in $(( $(date +%s) - start )) s"
