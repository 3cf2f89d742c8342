#!/usr/bin/env bash
# Builds the node's Kubernetes components for the real-node e2e
# (make e2e-node): kubelet, kube-proxy, kube-scheduler and
# kube-controller-manager, from the same k8s.io/kubernetes version as the
# test control plane (hack/build-control-plane.sh), cached beside it.
set -euo pipefail
exec "$(dirname "$0")/build-kube.sh" node kubelet kube-proxy kube-scheduler kube-controller-manager
