package main

import (
	"fmt"
	"strings"
)

// heraldNS is the namespace config/default and the chart install herald in.
const heraldNS = "herald-system"

// heraldObjects renders what an operator applies once herald runs: a pool
// announced by BGP to the router (one BGPPeer per address family, each
// with BFD at the router's timers), and a
// pool answered on the LAN by L2 (not auto-assigned: only the Service that
// names it gets it).
func heraldObjects() string {
	return fmt.Sprintf(`apiVersion: heraldlb.io/v1beta1
kind: IPAddressPool
metadata:
  name: hnode-bgp
  namespace: %[1]s
spec:
  addresses: [%[2]s, %[3]s]
---
apiVersion: heraldlb.io/v1beta1
kind: IPAddressPool
metadata:
  name: hnode-l2
  namespace: %[1]s
spec:
  autoAssign: false
  addresses: [%[4]s, %[5]s]
---
apiVersion: heraldlb.io/v1beta1
kind: BFDProfile
metadata:
  name: hnode-bfd
  namespace: %[1]s
spec:
  receiveInterval: 300
  transmitInterval: 300
  detectMultiplier: 3
---
apiVersion: heraldlb.io/v1beta1
kind: BGPPeer
metadata:
  name: hnode-rtr4
  namespace: %[1]s
spec:
  myASN: %[6]d
  peerASN: %[7]d
  peerAddress: %[8]s
  holdTime: 9s
  keepaliveTime: 3s
  bfdProfile: hnode-bfd
---
apiVersion: heraldlb.io/v1beta1
kind: BGPPeer
metadata:
  name: hnode-rtr6
  namespace: %[1]s
spec:
  myASN: %[6]d
  peerASN: %[7]d
  peerAddress: %[9]s
  holdTime: 9s
  keepaliveTime: 3s
  bfdProfile: hnode-bfd
---
apiVersion: heraldlb.io/v1beta1
kind: BGPAdvertisement
metadata:
  name: hnode-bgp
  namespace: %[1]s
spec:
  ipAddressPools: [hnode-bgp]
---
apiVersion: heraldlb.io/v1beta1
kind: L2Advertisement
metadata:
  name: hnode-l2
  namespace: %[1]s
spec:
  ipAddressPools: [hnode-l2]
  interfaces: [lan]
`, heraldNS, bgpPool4, bgpPool6, l2Pool4, l2Pool6, nodeASN, rtrASN, rtrLAN4, rtrLAN6)
}

// webServices renders two dual-stack LoadBalancer Services in front of the
// web pods: web (from the BGP pool) and web-l2 (from the L2 pool, by
// annotation).
func webServices() string {
	svc := func(name, annotation string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: default%s
spec:
  type: LoadBalancer
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
`, name, annotation)
	}
	return svc("web", "") + "---\n" + svc("web-l2", "\n  annotations:\n    heraldlb.io/address-pool: hnode-l2")
}

// webDeployment renders the backend: two web pods, non-root.
func webDeployment() string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      enableServiceLinks: false
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: %s
        imagePullPolicy: Never
        ports:
        - containerPort: 8080
        readinessProbe:
          httpGet:
            port: 8080
          periodSeconds: 1
        securityContext:
          runAsNonRoot: true
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities:
            drop: [ALL]
`, webImage)
}

// kustomization renders the overlay users write: config/default as the
// only resource, and an images: list that renames each image config/default
// names (from its own images: list) to the locally built one.
func kustomization(base string, rename map[string]string, names []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- %s\nimages:\n", base)
	for _, n := range names {
		ref := rename[n]
		name, tag := ref, ""
		if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
			name, tag = ref[:i], ref[i+1:]
		}
		fmt.Fprintf(&b, "- name: %s\n  newName: %s\n", n, name)
		if tag != "" {
			fmt.Fprintf(&b, "  newTag: %q\n", tag)
		}
	}
	return b.String()
}
