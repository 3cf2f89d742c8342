#!/usr/bin/env bash
# Builds helm, which the chart's tests (charts/herald) run, from its Go module
# at a pinned version into bin/helm. It is built in a throw-away module rather
# than required by herald's go.mod, whose dependency tree it would more than
# double. The result is cached by version in ~/.cache/herald, like the control
# plane (hack/build-control-plane.sh), so a fresh clone on this machine (CI)
# skips the compile.
set -euo pipefail

# The newest release the Go module proxy serves (`go list -m -versions
# helm.sh/helm/v4`); change both together.
helm_module=helm.sh/helm/v4
helm_version=v4.3.2

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
mkdir -p "$bin"
stamp="$bin/.helm-$helm_version"

say() { printf '==> %s\n' "$*"; }

if [ -x "$bin/helm" ] && [ -f "$stamp" ]; then
  say "helm $helm_version already built in bin/"
  exit 0
fi
cache="${HERALD_CACHE:-$HOME/.cache/herald}/helm-$helm_version"
if [ -x "$cache/helm" ]; then
  say "reusing helm $helm_version from $cache"
  cp "$cache/helm" "$bin/helm"
  rm -f "$bin"/.helm-*; touch "$stamp"
  exit 0
fi

say "compiling helm $helm_version from the $helm_module module (about two minutes the first time)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > go.mod <<MOD
module herald.local/helm

go 1.26
MOD
cat > tools.go <<GO
//go:build tools

package tools

import _ "$helm_module/cmd/helm"
GO
GOFLAGS=-mod=mod go get "$helm_module@$helm_version" >/dev/null 2>&1
GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1
# helm reports its version from these variables (`helm version`).
ldflags="-s -w -X $helm_module/internal/version.version=$helm_version"
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/helm" "$helm_module/cmd/helm"
rm -f "$bin"/.helm-*
touch "$stamp"
mkdir -p "$cache" && cp "$bin/helm" "$cache/"
say "built bin/helm ($("$bin/helm" version --short 2>/dev/null || echo "$helm_version"))"
