#!/usr/bin/env bash
# herald's demo: BGP mode end to end on the lab (docs/ARCHITECTURE.md §7). It brings
# the lab up (a real etcd and kube-apiserver, three node namespaces running
# FRR, herald frr-agent and herald speaker, a router running FRR with ECMP,
# herald controller), applies the sample objects of config/samples (pool,
# BFD profile, a BGPPeer per node to the router, a Community alias, a
# BGPAdvertisement with communities, and a LoadBalancer Service), waits until
# the router really holds a route to the Service's address through all three
# nodes, and shows it. The lab stays up; the last lines say how to use it and
# how to take it down. `make demo` runs it after deps, control-plane and build.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
herald="$root/bin/herald"
bin="${KUBEBUILDER_ASSETS:-$root/bin}"
kubectl="$bin/kubectl"
timeout_s=${DEMO_TIMEOUT:-180}

say() { printf '\n==> %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "the lab makes network namespaces: run as root"
[ -x "$herald" ] || die "$herald is missing: run \`make build\`"
for b in etcd kube-apiserver kubectl; do
  [ -x "$bin/$b" ] || die "$bin/$b is missing: run \`make control-plane\`"
done
command -v jq >/dev/null || die "jq is needed to read the router's JSON: run \`make deps\` or apt-get install jq"

say "bringing the lab up (idempotent: a lab that is already up is kept)"
up_out=$("$herald" lab up -control-plane "$bin" 2>&1) || { printf '%s\n' "$up_out"; die "herald lab up failed; \`$herald lab down\` cleans up"; }
printf '%s\n' "$up_out" | grep -v '^export ' | tail -n 3
export_line=$(printf '%s\n' "$up_out" | grep '^export KUBECONFIG=' | tail -n 1)
[ -n "$export_line" ] || die "herald lab up printed no export KUBECONFIG line"
eval "$export_line"

say "the lab's Nodes and herald's processes"
run "$kubectl" get nodes -o wide
"$herald" lab status | grep -E '^process +(controller|speaker|frr-agent)'

say "applying the sample objects (config/samples: pool, BFD profile 'fast' 50ms x3, a BGPPeer per node to the router 198.51.100.1 AS 64500, communities, BGPAdvertisement, Service default/demo)"
run "$kubectl" apply -k "$root/config/samples"

say "waiting for herald controller to give default/demo an address"
ip=""
deadline=$((SECONDS + timeout_s))
while [ $SECONDS -lt $deadline ]; do
  ip=$("$kubectl" get svc demo -n default -o jsonpath='{.status.loadBalancer.ingress[0].ip}' 2>/dev/null || true)
  [ -n "$ip" ] && break
  sleep 0.2
done
[ -n "$ip" ] || die "default/demo got no address in ${timeout_s}s: see $("$herald" lab status | awk '/^lab folder/{print $3}')/logs/controller.log"
run "$kubectl" get svc demo -n default -o wide

say "waiting for the router's RIB to hold $ip/32 through the three nodes (BGP sessions come up, the speakers plan, the agents apply)"
start=$SECONDS
hops=0
while [ $SECONDS -lt $deadline ]; do
  hops=$("$herald" lab vtysh router -c "show ip route $ip/32 json" 2>/dev/null |
    jq --arg p "$ip/32" '[(.[$p] // [])[] | select(.selected) | .nexthops[] | select(.active)] | length' 2>/dev/null || echo 0)
  [ "${hops:-0}" -ge 3 ] && break
  sleep 0.2
done
[ "${hops:-0}" -ge 3 ] || {
  "$herald" lab vtysh router -c 'show bgp summary' || true
  die "the router has $hops of 3 next hops for $ip after ${timeout_s}s: see the speaker and frr-agent logs under the lab folder"
}
echo "the router has $ip/32 through $hops next hops (waited $((SECONDS - start))s)"

say "waiting for the router's three BFD sessions, the speakers' NodeStates (a session up each) and the Service's Announced condition to catch up"
start=$SECONDS
deadline=$((SECONDS + timeout_s))
caught_up=""
while [ $SECONDS -lt $deadline ]; do
  bfd=$("$herald" lab vtysh router -c 'show bfd peers json' 2>/dev/null | jq '[.[] | select(.status=="up")] | length' 2>/dev/null || echo 0)
  up=$("$kubectl" get nodestates -o json 2>/dev/null | jq '[.items[] | select((.status.sessionsUp // 0) >= 1)] | length' 2>/dev/null || echo 0)
  ann=$("$kubectl" get svc demo -n default -o json 2>/dev/null |
    jq -r '.status.conditions[]? | select(.type=="heraldlb.io/Announced") | .status' 2>/dev/null || true)
  if [ "${bfd:-0}" -ge 3 ] && [ "${up:-0}" -ge 3 ] && [ "$ann" = True ]; then caught_up=yes; break; fi
  sleep 0.5
done
if [ -n "$caught_up" ]; then
  echo "BFD up with 3 nodes, 3 NodeStates with their session up, Announced=True (waited $((SECONDS - start))s)"
else
  echo "after ${timeout_s}s: $bfd BFD sessions up, $up NodeStates with a session up, Announced=${ann:-unset}; showing them as they are"
fi

say "the router's route to $ip: one ECMP next hop per node"
run "$herald" lab vtysh router -c "show ip route $ip"

say "the router's BGP paths to $ip: one per node, with the advertisement's communities (64512:666 is the alias no-transit)"
run "$herald" lab vtysh router -c "show bgp ipv4 unicast $ip"

say "the router's BGP sessions and BFD peers (the profile 'fast': 50 ms x 3)"
run "$herald" lab vtysh router -c 'show bgp ipv4 unicast summary'
run "$herald" lab vtysh router -c 'show bfd peers brief'

say "what each node's speaker reports: its FRR config generation, apply result and sessions"
run "$kubectl" get nodestates

say "the Service's Announced condition (set by herald controller from the NodeStates)"
"$kubectl" get svc demo -n default -o json |
  jq -r '.status.conditions[]? | select(.type=="heraldlb.io/Announced") | "\(.type)=\(.status) reason=\(.reason)\n  \(.message)"'

say "the lab stays up. To use it:"
echo "  $export_line"
echo "  $herald lab vtysh router -c 'show ip route $ip'"
echo "  $herald lab status"
say "to take it down: make lab-down   (or: $herald lab down)"
