#!/usr/bin/env bash
# Builds grafana's dashboard-linter, which the dashboard test
# (config/grafana) runs, from its Go module at a pinned version into
# bin/dashboard-linter. Built in a throw-away module like helm
# (hack/build-helm.sh), so herald's go.mod does not carry its dependencies,
# and cached by version in ~/.cache/herald.
set -euo pipefail

# dashboard-linter has no tagged release: the Go module proxy serves this
# commit of its main branch as a pseudo-version. Change it on purpose only.
linter_module=github.com/grafana/dashboard-linter
linter_version=v0.0.0-20241224134444-1765d94aec4a

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
mkdir -p "$bin"
stamp="$bin/.dashboard-linter-$linter_version"

say() { printf '==> %s\n' "$*"; }

if [ -x "$bin/dashboard-linter" ] && [ -f "$stamp" ]; then
  say "dashboard-linter $linter_version already built in bin/"
  exit 0
fi
cache="${HERALD_CACHE:-$HOME/.cache/herald}/dashboard-linter-$linter_version"
if [ -x "$cache/dashboard-linter" ]; then
  say "reusing dashboard-linter $linter_version from $cache"
  cp "$cache/dashboard-linter" "$bin/dashboard-linter"
  rm -f "$bin"/.dashboard-linter-*; touch "$stamp"
  exit 0
fi

say "compiling dashboard-linter $linter_version from the $linter_module module"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > go.mod <<MOD
module herald.local/dashboardlinter

go 1.26
MOD
cat > tools.go <<GO
//go:build tools

package tools

import _ "$linter_module"
GO
GOFLAGS=-mod=mod go get "$linter_module@$linter_version" >/dev/null 2>&1
GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/dashboard-linter" "$linter_module"
rm -f "$bin"/.dashboard-linter-*
touch "$stamp"
mkdir -p "$cache" && cp "$bin/dashboard-linter" "$cache/"
say "built bin/dashboard-linter"
