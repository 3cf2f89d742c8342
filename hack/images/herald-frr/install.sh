#!/bin/sh
# install.sh ROOTFS: adds herald's files to the FRR sidecar image's root
# file system (hack/build-frr-rootfs.sh calls it):
#   /usr/local/bin/herald-frr-start   the entrypoint (prepares /etc/frr, starts FRR, execs CMD)
#   /usr/local/bin/herald-frr-check   the liveness check (zebra, mgmtd, bgpd, bfdd, staticd, watchfrr)
#   /usr/share/herald-frr/            daemons, vtysh.conf, frr.conf: the defaults for an empty /etc/frr
#   /etc/frr/                         the same defaults, for a container with no volume there
set -eu
here=$(dirname "$0")
root=$1
[ -x "$root/usr/lib/frr/frrinit.sh" ] || { echo "install.sh: $root has no /usr/lib/frr/frrinit.sh" >&2; exit 1; }

install -d -m 0755 "$root/usr/local/bin" "$root/usr/share/herald-frr"
install -m 0755 "$here/herald-frr-start" "$here/herald-frr-check" "$root/usr/local/bin/"
install -m 0644 "$here/daemons" "$here/vtysh.conf" "$here/frr.conf" "$root/usr/share/herald-frr/"

# frr's and frrvty's ids as this rootfs's packages made them.
frr_uid=$(awk -F: '$1 == "frr" {print $3}' "$root/etc/passwd")
frr_gid=$(awk -F: '$1 == "frr" {print $3}' "$root/etc/group")
vty_gid=$(awk -F: '$1 == "frrvty" {print $3}' "$root/etc/group")
[ -n "$frr_uid" ] && [ -n "$frr_gid" ] && [ -n "$vty_gid" ] || { echo "install.sh: no frr user or frr/frrvty group in $root/etc" >&2; exit 1; }
for f in daemons vtysh.conf frr.conf; do
  install -m 0640 -o "$frr_uid" -g "$frr_gid" "$here/$f" "$root/etc/frr/$f"
done
chown "$frr_uid:$vty_gid" "$root/etc/frr/vtysh.conf"
chown "$frr_uid:$frr_gid" "$root/etc/frr"
chmod 0755 "$root/etc/frr"
install -d -m 0755 -o "$frr_uid" -g "$frr_gid" "$root/var/log/frr" "$root/var/lib/frr" "$root/run/frr"

# Nothing reads these in a container: the package's syslog and logrotate
# snippets, and the apt/dpkg leftovers mmdebstrap keeps.
rm -f "$root/etc/rsyslog.d/45-frr.conf"
rm -rf "$root/var/cache/apt" "$root/var/lib/apt/lists" "$root/var/cache/ldconfig/aux-cache"
