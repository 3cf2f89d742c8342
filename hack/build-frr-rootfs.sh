#!/usr/bin/env bash
# Makes the root file system of herald's FRR sidecar image from Debian 13
# (trixie)'s FRR 10.x packages, and prints its path.
#
#   hack/build-frr-rootfs.sh            # newest frr in trixie (+ -security, -updates)
#   FRR_VERSION=10.3.1-1 hack/build-frr-rootfs.sh
#
# The FRR version is resolved with apt against a private state folder (never
# the host's apt lists). The bootstrapped file system (mmdebstrap
# --variant=essential, docs and man pages left out) is cached as
# ~/.cache/herald/images/herald-frr-<version>-<hash of packages and options>/rootfs.tar,
# so a warm run does not download packages again; only apt's small index
# check goes to the mirror. The result is unpacked into $OUT (default bin/images/herald-frr-rootfs)
# with herald's own files added (hack/images/herald-frr/), owners kept.
# Needs root (mmdebstrap's root mode, and owners in the tree).
set -euo pipefail
cd "$(dirname "$0")/.."

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
CACHE=${HERALD_CACHE:-$HOME/.cache/herald}/images
OUT=${OUT:-bin/images/herald-frr-rootfs}
# What FRR needs at run time beyond its own dependencies: frr-reload.py
# (frr-pythontools) runs on python3; iproute2 to look at the pod's links.
# systemd-standalone-sysusers satisfies cron-daemon-common (logrotate ->
# cron) without pulling in all of systemd (17 MB nothing in a container runs).
PACKAGES=(frr frr-pythontools python3 iproute2 systemd-standalone-sysusers)
# Leave docs, man pages and translations out at dpkg time; keep the
# copyright files.
DPKG_OPTS=(
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
)

if [ "$(id -u)" -ne 0 ]; then
  echo "build-frr-rootfs: needs root (mmdebstrap, and file owners in the rootfs)" >&2
  exit 1
fi
command -v mmdebstrap >/dev/null || { echo "build-frr-rootfs: mmdebstrap is missing (hack/install-deps.sh installs it)" >&2; exit 1; }

sources=(
  "deb [signed-by=$KEYRING] $MIRROR trixie main"
  "deb [signed-by=$KEYRING] $MIRROR trixie-updates main"
  "deb [signed-by=$KEYRING] $SECURITY trixie-security main"
)

# The cache key: FRR's version, and a hash of the package list and dpkg
# options, so that changing either builds afresh.
key=$(printf '%s\n' "${PACKAGES[@]}" "${DPKG_OPTS[@]}" | sha256sum | cut -c1-8)

# Resolve the FRR version with a private apt: own lists, own status, no
# host sources. When the mirror cannot be reached and apt has no lists from
# before, fall back on the newest cached build.
if [ -z "${FRR_VERSION:-}" ]; then
  apt_dir=$CACHE/apt-trixie
  mkdir -p "$apt_dir"/{lists/partial,archives/partial,etc/sources.list.d,etc/preferences.d}
  : >"$apt_dir/status"
  printf '%s\n' "${sources[@]}" >"$apt_dir/etc/sources.list"
  apt_opts=(-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status"
    -o "Dir::Cache=$apt_dir" -o "Dir::Cache::archives=$apt_dir/archives"
    -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
    -o "Dir::Etc::Preferences=$apt_dir/etc/preferences" -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
    -o "APT::Architecture=$(dpkg --print-architecture)" -o "APT::Architectures=$(dpkg --print-architecture)"
    -o "Acquire::Languages=none" -o "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false"
    -o "APT::Sandbox::User=root")
  echo "==> resolving frr's version in Debian 13 (trixie)" >&2
  apt-get "${apt_opts[@]}" -qq update >&2 || echo "==> apt-get update failed; trying the lists and builds already cached" >&2
  FRR_VERSION=$(apt-cache "${apt_opts[@]}" policy frr | awk '/Candidate:/ {print $2}')
  if [ -z "$FRR_VERSION" ] || [ "$FRR_VERSION" = "(none)" ]; then
    cached=$(ls -td "$CACHE"/herald-frr-*-"$key"/rootfs.tar 2>/dev/null | head -1 || true)
    if [ -n "$cached" ]; then
      FRR_VERSION=$(basename "$(dirname "$cached")")
      FRR_VERSION=${FRR_VERSION#herald-frr-}
      FRR_VERSION=${FRR_VERSION%-"$key"}
      echo "==> apt could not tell trixie's frr version (mirror unreachable?): using the cached $FRR_VERSION" >&2
    fi
  fi
  case "$FRR_VERSION" in
    10.*) ;;
    *) echo "build-frr-rootfs: trixie's frr candidate is '${FRR_VERSION:-none}', not 10.x" >&2; exit 1 ;;
  esac
fi

dir=$CACHE/herald-frr-$FRR_VERSION-$key
tarball=$dir/rootfs.tar
if [ -s "$tarball" ]; then
  echo "==> FRR $FRR_VERSION rootfs cached in $tarball" >&2
else
  echo "==> mmdebstrap: Debian 13 with frr $FRR_VERSION (about 3 minutes, download-bound)" >&2
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  start=$(date +%s)
  includes=()
  for p in "${PACKAGES[@]}"; do
    case "$p" in frr|frr-pythontools) includes+=("$p=$FRR_VERSION") ;; *) includes+=("$p") ;; esac
  done
  TMPDIR=$tmp mmdebstrap --quiet --mode=root --variant=essential --format=tar \
    --include="$(IFS=,; echo "${includes[*]}")" "${DPKG_OPTS[@]}" \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*.log "$1"/var/log/apt/* "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old' \
    trixie "$tmp/rootfs.tar" "${sources[@]}" >&2
  mv "$tmp/rootfs.tar" "$tarball"
  rm -rf "$tmp"
  trap - EXIT
  # Older builds of this version (another package list) are not needed.
  find "$CACHE" -maxdepth 1 -name "herald-frr-$FRR_VERSION-*" ! -path "$dir" -exec rm -rf {} +
  echo "==> FRR $FRR_VERSION rootfs built in $(( $(date +%s) - start ))s: $(du -h "$tarball" | cut -f1)" >&2
fi

# Unpack afresh, owners kept, then add herald's files.
rm -rf "$OUT"
mkdir -p "$OUT"
tar -x -p --numeric-owner -C "$OUT" -f "$tarball" --exclude='./dev/*'
hack/images/herald-frr/install.sh "$OUT"
echo "$FRR_VERSION" >"$OUT.version"
echo "$OUT"
