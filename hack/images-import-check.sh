#!/usr/bin/env bash
# Imports OCI archives into a private containerd (its own config, root, state
# and socket under a scratch folder; never the host's) with
# `ctr -n k8s.io images import`, then checks that `ctr images ls` lists each
# archive under the fully qualified name it was built with, and that the
# image unpacked into the overlayfs snapshotter. Stops containerd and removes
# the scratch folder on exit, also on failure.
#   hack/images-import-check.sh NAME=ARCHIVE...
#   hack/images-import-check.sh            # reads bin/images/images.env
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
  [ -f bin/images/images.env ] || { echo "images-import-check: bin/images/images.env is missing: run make images" >&2; exit 1; }
  # shellcheck disable=SC1091
  . bin/images/images.env
  set -- "$HERALD_IMAGE=bin/images/herald.oci.tar" "$FRR_IMAGE=bin/images/herald-frr.oci.tar"
fi
for b in containerd ctr; do
  command -v "$b" >/dev/null || { echo "images-import-check: $b is missing (apt-get install containerd runc)" >&2; exit 1; }
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/herald-ctr.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"; for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # overlayfs snapshots are not mounted by an import, but be sure.
  grep -o " $scratch/[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

cat >"$scratch/config.toml" <<TOML
version = 2
root = "$scratch/root"
state = "$scratch/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$scratch/containerd.sock"
[ttrpc]
  address = "$scratch/containerd.sock.ttrpc"
[debug]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$scratch/opt"
TOML
containerd --config "$scratch/config.toml" >"$scratch/containerd.log" 2>&1 &
pid=$!
ctr=(ctr --address "$scratch/containerd.sock" -n k8s.io)
for _ in $(seq 100); do
  "${ctr[@]}" version >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$scratch/containerd.log" >&2; echo "images-import-check: containerd exited" >&2; exit 1; }
  sleep 0.1
done

fail=0
for pair in "$@"; do
  name=${pair%%=*} archive=${pair#*=}
  start=$(date +%s.%N)
  if ! "${ctr[@]}" images import "$archive" >"$scratch/import.out" 2>&1; then
    cat "$scratch/import.out" >&2
    echo "FAIL import $archive" >&2; fail=1; continue
  fi
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
  "${ctr[@]}" images ls >"$scratch/ls.out"
  "${ctr[@]}" images check >"$scratch/check.out"
  if awk -v n="$name" '$1 == n {found=1} END {exit !found}' "$scratch/ls.out" \
     && awk -v n="$name" '$1 == n && /complete/ {found=1} END {exit !found}' "$scratch/check.out"; then
    printf 'PASS %s imported from %s as %s (%.1fs)\n' "$name" "$archive" "$name" "$secs"
  else
    cat "$scratch/import.out" "$scratch/ls.out" "$scratch/check.out" >&2
    echo "FAIL $archive: ctr images ls does not list $name as complete" >&2; fail=1
  fi
done
# An unpacked image has a snapshot whose top layer is its one layer.
"${ctr[@]}" snapshots --snapshotter overlayfs ls >"$scratch/snap.out"
n=$(grep -c . "$scratch/snap.out" || true)
if [ "$n" -le 1 ]; then
  cat "$scratch/snap.out" >&2; echo "FAIL no image was unpacked into the overlayfs snapshotter" >&2; fail=1
else
  echo "PASS $((n-1)) snapshot(s) unpacked into overlayfs"
fi
"${ctr[@]}" images ls -q | sed "s/^/  listed: /"
exit $fail
