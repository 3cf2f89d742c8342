#!/usr/bin/env bash
# `make images`: herald's two container images as OCI archives, with no
# registry and no container tool (hack/ociimage assembles them):
#   bin/images/herald.oci.tar      localhost/herald:<VERSION>      herald, kubectl-herald, busybox
#   bin/images/herald-frr.oci.tar  localhost/herald-frr:<FRR deb>  FRR 10 from Debian 13 + herald-frr-start/-check
#   bin/images/images.env          HERALD_IMAGE=..., FRR_IMAGE=..., FRR_ROOTFS=...
# Environment: VERSION (the Makefile's git describe), LDFLAGS, GO.
# Needs root for the FRR root file system (owners, mmdebstrap).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
LDFLAGS=${LDFLAGS:--X github.com/heraldlb/herald/internal/version.Version=$VERSION}
OUTDIR=bin/images
CACHE=${HERALD_CACHE:-$HOME/.cache/herald}/images
# Every entry's mtime and the config's creation time: the last commit's, so
# that the same commit gives the same archives.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}

# tag VERSION: a string usable as an image tag ([A-Za-z0-9_.-], at most 128,
# not starting with . or -).
tag() {
  local t
  t=$(printf '%s' "$1" | tr -c 'A-Za-z0-9_.-' '_')
  t=${t#[.-]}
  printf '%s' "${t:0:128}"
}

mkdir -p "$OUTDIR" "$CACHE"
start=$(date +%s)

# --- herald ----------------------------------------------------------------
herald_image=localhost/herald:$(tag "$VERSION")
root=$OUTDIR/herald-rootfs
rm -rf "$root"
mkdir -p "$root"
echo "==> building static herald and kubectl-herald ($VERSION)"
CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w $LDFLAGS" -o "$root/herald" ./cmd/herald
CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w $LDFLAGS" -o "$root/kubectl-herald" ./cmd/kubectl-herald

# busybox from Debian's busybox-static package, unpacked from the .deb (the
# speaker's init container runs `/busybox cp`). Cached by package version.
bb_version=$(apt-cache policy busybox-static | awk '/Candidate:/ {print $2}')
if [ -z "$bb_version" ] || [ "$bb_version" = "(none)" ]; then
  apt-get update -qq
  bb_version=$(apt-cache policy busybox-static | awk '/Candidate:/ {print $2}')
fi
bb_deb=$CACHE/busybox-static_$(tag "$bb_version").deb
if [ ! -s "$bb_deb" ]; then
  echo "==> downloading busybox-static $bb_version"
  tmp=$(mktemp -d "$CACHE/busybox.XXXXXX")
  (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "busybox-static=$bb_version")
  mv "$tmp"/busybox-static_*.deb "$bb_deb"
  rm -rf "$tmp"
fi
bb_x=$(mktemp -d "$OUTDIR/.busybox.XXXXXX")
dpkg-deb -x "$bb_deb" "$bb_x"
cp "$bb_x/bin/busybox" "$root/busybox"
rm -rf "$bb_x"
cp -r hack/images/herald/etc "$root/etc"

"$GO" run ./hack/ociimage -o "$OUTDIR/herald.oci.tar" -name "$herald_image" -rootfs "$root" \
  -owner 0:0 -user 65532:65532 -entrypoint /herald \
  -label "org.opencontainers.image.title=herald" \
  -label "org.opencontainers.image.version=$VERSION" \
  -label "org.opencontainers.image.source=https://github.com/heraldlb/herald"

# --- herald-frr --------------------------------------------------------------
frr_root=$(OUT=$OUTDIR/herald-frr-rootfs hack/build-frr-rootfs.sh)
frr_version=$(cat "$frr_root.version")
frr_image=localhost/herald-frr:$(tag "$frr_version")
# The FRR image's times come from the last commit that changed what goes
# into it, not from the last commit: an unrelated commit leaves the image,
# tagged by FRR's version only, byte for byte the same.
frr_epoch=$(git log -1 --format=%ct -- hack/images/herald-frr hack/build-frr-rootfs.sh 2>/dev/null || true)
SOURCE_DATE_EPOCH=${frr_epoch:-$SOURCE_DATE_EPOCH} "$GO" run ./hack/ociimage -o "$OUTDIR/herald-frr.oci.tar" -name "$frr_image" -rootfs "$frr_root" \
  -keep-owners -entrypoint /usr/local/bin/herald-frr-start \
  -label "org.opencontainers.image.title=herald-frr" \
  -label "org.opencontainers.image.version=$frr_version" \
  -label "org.opencontainers.image.description=FRR $frr_version from Debian 13 with herald's daemons file and start/check scripts"

cat >"$OUTDIR/images.env" <<ENV
HERALD_IMAGE=$herald_image
FRR_IMAGE=$frr_image
FRR_VERSION=$frr_version
HERALD_ARCHIVE=$OUTDIR/herald.oci.tar
FRR_ARCHIVE=$OUTDIR/herald-frr.oci.tar
FRR_ROOTFS=$frr_root
ENV

echo "==> images ($(( $(date +%s) - start ))s):"
printf '  %-40s %s (%s)\n' "$herald_image" "$OUTDIR/herald.oci.tar" "$(du -h "$OUTDIR/herald.oci.tar" | cut -f1)"
printf '  %-40s %s (%s)\n' "$frr_image" "$OUTDIR/herald-frr.oci.tar" "$(du -h "$OUTDIR/herald-frr.oci.tar" | cut -f1)"
echo "  names in $OUTDIR/images.env; import with: ctr -n k8s.io images import ARCHIVE (hack/images-import-check.sh checks both)"
