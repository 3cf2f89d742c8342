package kubectlplugin

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heraldlb/herald/internal/apitest"
)

// diffCases are the edits TestDiffFiles plans on clusterFixture's cluster
// (plus node1 labelled rack=a): each is the input of kubectl herald diff
// -f, and the output is compared with testdata/TestDiffFiles_<name>.golden.
var diffCases = []struct {
	name    string
	yaml    string
	deletes []string
	changed bool
}{
	{name: "pool-shrink", changed: true, yaml: `
apiVersion: heraldlb.io/v1beta1
kind: IPAddressPool
metadata: {name: prod, namespace: herald-system}
spec:
  addresses: [192.0.2.8/29]
  serviceAllocation: {priority: 1, namespaceSelectors: [{matchLabels: {team: web}}]}
`},
	{name: "peer-removal", changed: true, deletes: []string{"bgppeer/router"}},
	{name: "community-change", changed: true, yaml: `
apiVersion: heraldlb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: prod}
spec:
  ipAddressPools: [prod]
  communities: ["64512:200", "large:64512:1:2"]
  nodeSelectors: [{matchLabels: {bgp: "yes"}}]
`},
	{name: "advertisement-node-selector", changed: true, yaml: `
apiVersion: heraldlb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: prod}
spec:
  ipAddressPools: [prod]
  communities: ["64512:100"]
  nodeSelectors: [{matchLabels: {bgp: "yes", rack: a}}]
`},
	{name: "new-service", changed: true, yaml: `
apiVersion: v1
kind: Service
metadata: {name: api, namespace: web}
spec:
  type: LoadBalancer
  ports: [{port: 443, protocol: TCP}]
`},
	{name: "l2-node-selector", changed: true, yaml: `
apiVersion: heraldlb.io/v1beta1
kind: L2Advertisement
metadata: {name: lab}
spec:
  ipAddressPools: [lab]
  interfaces: [eth0]
  nodeSelectors: [{matchExpressions: [{key: rack, operator: DoesNotExist}]}]
`},
	{name: "bfd-profile-change", changed: true, yaml: `
apiVersion: heraldlb.io/v1beta1
kind: BFDProfile
metadata: {name: fast}
spec: {receiveInterval: 100, transmitInterval: 100, detectMultiplier: 5}
`},
	{name: "traffic-policy-local", changed: true, yaml: `
apiVersion: v1
kind: Service
metadata: {name: frontend, namespace: web}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  ports: [{port: 80, targetPort: 8080, protocol: TCP}]
`},
	{name: "pool-removal-strands", changed: true, deletes: []string{"ipaddresspool/lab"}},
	{name: "new-peer-and-localpref", changed: true, yaml: `
apiVersion: heraldlb.io/v1beta1
kind: BGPPeer
metadata: {name: spine}
spec: {myASN: 64512, peerASN: 64512, peerAddress: 198.51.100.2}
---
apiVersion: heraldlb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: prod}
spec:
  ipAddressPools: [prod]
  communities: ["64512:100"]
  localPref: 200
  nodeSelectors: [{matchLabels: {bgp: "yes"}}]
`},
	{name: "peer-broken-keeps-last-good", changed: true, yaml: `
apiVersion: heraldlb.io/v1beta1
kind: BGPPeer
metadata: {name: router}
spec: {myASN: 64512, peerASN: 64513, peerAddress: 198.51.100.1, bfdProfile: nope}
`},
	{name: "no-change", changed: false, yaml: `
apiVersion: heraldlb.io/v1beta1
kind: IPAddressPool
metadata: {name: prod}
spec:
  addresses: [192.0.2.0/28]
  serviceAllocation: {priority: 1, namespaceSelectors: [{matchLabels: {team: web}}]}
`},
}

// TestDiffFiles plans each edit of diffCases on objects in a real API
// server (Load, then PlanEdits) and compares kubectl herald diff -f's
// output with golden files; the API server's objects must be untouched.
func TestDiffFiles(t *testing.T) {
	_, c := apitest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clusterFixture(t, ctx, c)
	var n1 corev1.Node
	if err := c.Get(ctx, client.ObjectKey{Name: "node1"}, &n1); err != nil {
		t.Fatal(err)
	}
	n1.Labels["rack"] = "a"
	if err := c.Update(ctx, &n1); err != nil {
		t.Fatal(err)
	}
	var before corev1.ServiceList
	if err := c.List(ctx, &before); err != nil {
		t.Fatal(err)
	}

	for _, tc := range diffCases {
		t.Run(tc.name, func(t *testing.T) {
			var edits []Edit
			if tc.yaml != "" {
				var err error
				if edits, err = ReadEdits(tc.name+".yaml", []byte(tc.yaml), heraldNS, "default"); err != nil {
					t.Fatalf("ReadEdits: %v", err)
				}
			}
			for _, d := range tc.deletes {
				e, err := ParseDelete(d, heraldNS, "default")
				if err != nil {
					t.Fatal(err)
				}
				edits = append(edits, e)
			}
			var b bytes.Buffer
			changed, err := DiffEdits(ctx, c, LoadOptions{Namespace: heraldNS}, edits, false, &b)
			if err != nil {
				t.Fatalf("DiffEdits: %v", err)
			}
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v; output:\n%s", changed, tc.changed, b.String())
			}
			golden(t, "TestDiffFiles_"+tc.name, b.Bytes())
		})
	}

	t.Run("json", func(t *testing.T) {
		edits, err := ReadEdits("x.yaml", []byte(diffCases[0].yaml), heraldNS, "default")
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := DiffEdits(ctx, c, LoadOptions{Namespace: heraldNS}, edits, true, &b); err != nil {
			t.Fatal(err)
		}
		var got PlanJSON
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, b.String())
		}
		if !got.Changed || len(got.Report.Services) == 0 {
			t.Errorf("JSON report %s: want changed with Services affected", b.String())
		}
		golden(t, "TestDiffFiles_json", b.Bytes())
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct{ name, yaml, want string }{
			{"unknown kind", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "reads heraldlb.io/v1beta1 objects and v1 Services only"},
			{"other namespace", "apiVersion: heraldlb.io/v1beta1\nkind: BGPPeer\nmetadata: {name: x, namespace: kube-system}\nspec: {myASN: 1, peerASN: 2, peerAddress: 198.51.100.9}\n", "set metadata.namespace to herald-system"},
			{"unknown field", "apiVersion: heraldlb.io/v1beta1\nkind: BGPPeer\nmetadata: {name: x}\nspec: {myASN: 1, peerASN: 2, peerAddress: 198.51.100.9, colour: red}\n", "unknown field"},
			{"no name", "apiVersion: heraldlb.io/v1beta1\nkind: Community\nmetadata: {}\n", "has no metadata.name"},
		} {
			if _, err := ReadEdits("bad.yaml", []byte(tc.yaml), heraldNS, "default"); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.yaml#1") {
				t.Errorf("%s: error %v, want one naming bad.yaml#1 and saying %q", tc.name, err, tc.want)
			}
		}
		e, err := ParseDelete("bgppeer/nope", heraldNS, "default")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DiffEdits(ctx, c, LoadOptions{Namespace: heraldNS}, []Edit{e}, false, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no BGPPeer herald-system/nope") {
			t.Errorf("deleting a missing peer: error %v, want one naming it", err)
		}
	})

	var after corev1.ServiceList
	if err := c.List(ctx, &after); err != nil {
		t.Fatal(err)
	}
	if len(after.Items) != len(before.Items) {
		t.Errorf("diff -f changed the cluster: %d Services before, %d after", len(before.Items), len(after.Items))
	}
}
