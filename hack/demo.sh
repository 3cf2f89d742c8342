#!/usr/bin/env bash
# herald's interim demo (until the lab lands): a real etcd and kube-apiserver
# from bin/, herald's CRDs, `bin/herald controller` against them, the sample
# pool and a sample dual-stack LoadBalancer Service — then `kubectl get svc`
# shows the EXTERNAL-IP herald gave it. Everything started here is stopped on
# exit. `make demo` runs it after deps, control-plane and build.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="${KUBEBUILDER_ASSETS:-$root/bin}"
say() { printf '\n==> %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

for b in etcd kube-apiserver kubectl; do
  [ -x "$bin/$b" ] || die "$bin/$b is missing: run \`make control-plane\`"
done
[ -x "$root/bin/herald" ] || die "bin/herald is missing: run \`make build\`"
command -v openssl >/dev/null || die "openssl is needed to make the API server's service-account key"

work=$(mktemp -d /tmp/herald-demo.XXXXXX)
pids=()
cleanup() {
  say "stopping what the demo started (controller, kube-apiserver, etcd) and removing $work"
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
etcd_port=$(free_port); peer_port=$(free_port); api_port=$(free_port)

say "starting etcd on 127.0.0.1:$etcd_port (data in $work/etcd)"
"$bin/etcd" --name demo --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "demo=http://127.0.0.1:$peer_port" >"$work/etcd.log" 2>&1 &
pids+=($!)

say "starting kube-apiserver on https://127.0.0.1:$api_port (dual-stack Service ranges 198.51.100.0/24, 2001:db8:1::/108)"
openssl genrsa -out "$work/sa.key" 2048 2>/dev/null
openssl rsa -in "$work/sa.key" -pubout -out "$work/sa.pub" 2>/dev/null
token=$(openssl rand -hex 16)
echo "$token,demo-admin,demo-admin,system:masters" >"$work/tokens.csv"
"$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" --cert-dir "$work/certs" \
  --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$work/sa.pub" \
  --service-account-signing-key-file "$work/sa.key" --token-auth-file "$work/tokens.csv" \
  --endpoint-reconciler-type none --authorization-mode RBAC --service-cluster-ip-range 198.51.100.0/24,2001:db8:1::/108 \
  >"$work/kube-apiserver.log" 2>&1 &
pids+=($!)

export KUBECONFIG="$work/kubeconfig"
"$bin/kubectl" config set-cluster demo --server "https://127.0.0.1:$api_port" --insecure-skip-tls-verify=true >/dev/null
"$bin/kubectl" config set-credentials demo --token "$token" >/dev/null
"$bin/kubectl" config set-context demo --cluster demo --user demo >/dev/null
"$bin/kubectl" config use-context demo >/dev/null
k() { "$bin/kubectl" "$@"; }

for i in $(seq 1 120); do
  k get --raw /readyz >/dev/null 2>&1 && break
  kill -0 "${pids[1]}" 2>/dev/null || { tail -5 "$work/kube-apiserver.log"; die "kube-apiserver exited"; }
  [ "$i" -eq 120 ] && { tail -20 "$work/kube-apiserver.log"; die "kube-apiserver did not become ready in 60s"; }
  sleep 0.5
done
echo "kube-apiserver is ready"

say "installing herald's CRDs from config/crd"
k apply -k "$root/config/crd" >/dev/null
k wait --for condition=Established --timeout 60s crd --all >/dev/null
k get crd -o custom-columns=CRD:.metadata.name --no-headers | grep heraldlb.io | sed 's/^/  /'

say "creating herald's namespace and starting \`bin/herald controller\` (log in $work/controller.log)"
k create namespace herald-system >/dev/null
"$root/bin/herald" controller --kubeconfig "$KUBECONFIG" --namespace herald-system \
  --metrics-addr 0 --health-addr 0 >"$work/controller.log" 2>&1 &
pids+=($!)

say "applying the sample pool (config/samples/ipaddresspool.yaml) and Service (config/samples/service.yaml)"
k apply -f "$root/config/samples/ipaddresspool.yaml"
k apply -f "$root/config/samples/service.yaml"

say "waiting for herald to give the Service its IPs"
for i in $(seq 1 120); do
  ips=$(k get svc demo -n default -o jsonpath='{.status.loadBalancer.ingress[*].ip}' 2>/dev/null || true)
  [ -n "$ips" ] && break
  [ "$i" -eq 120 ] && { tail -30 "$work/controller.log"; die "the Service got no IP in 60s"; }
  sleep 0.5
done

say "kubectl get svc demo -n default -o wide"
k get svc demo -n default -o wide
say "the Service's heraldlb.io/IPAllocated condition and events"
k get svc demo -n default -o jsonpath='{range .status.conditions[*]}  {.type}={.status} ({.reason}): {.message}{"\n"}{end}'
k get events -n default --field-selector involvedObject.name=demo -o custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message 2>/dev/null || true
say "kubectl get ipaddresspools -n herald-system"
for i in $(seq 1 20); do
  [ -n "$(k get ipaddresspools lab -n herald-system -o jsonpath='{.status.assigned}')" ] && break
  sleep 0.5
done
k get ipaddresspools -n herald-system
