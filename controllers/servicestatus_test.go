package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/modfile"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/heraldlb/herald/internal/apitest"
)

// TestServiceStatusPatch: applied as the API server applies a strategic
// merge patch, the built patch takes the old status to the new one, and it
// leaves alone a condition another controller wrote meanwhile.
func TestServiceStatusPatch(t *testing.T) {
	at := metav1.Unix(1700000000, 0)
	cond := func(typ, status, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: metav1.ConditionStatus(status), Reason: reason, Message: reason + " message", LastTransitionTime: at, ObservedGeneration: 1}
	}
	ingress := func(ips ...string) []corev1.LoadBalancerIngress {
		var out []corev1.LoadBalancerIngress
		for _, ip := range ips {
			out = append(out, corev1.LoadBalancerIngress{IP: ip, IPMode: ptrTo(corev1.LoadBalancerIPModeVIP)})
		}
		return out
	}
	other := cond("example.com/Other", "True", "Theirs")
	for _, tc := range []struct {
		name     string
		old, new corev1.ServiceStatus
	}{
		{"first IP and conditions",
			corev1.ServiceStatus{},
			corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress("192.0.2.1")},
				Conditions: []metav1.Condition{cond(ConditionIPAllocated, "True", "Allocated"), cond(ConditionAnnounced, "False", "Pending")}}},
		{"a condition changes, another controller's stays",
			corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress("192.0.2.1")},
				Conditions: []metav1.Condition{other, cond(ConditionAnnounced, "False", "Pending")}},
			corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress("192.0.2.1")},
				Conditions: []metav1.Condition{other, cond(ConditionAnnounced, "True", "Announced")}}},
		{"IPs change to two families",
			corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress("192.0.2.1")}},
			corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress("192.0.2.2", "2001:db8::2")}}},
		{"IPs and herald's conditions removed",
			corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress("192.0.2.1")},
				Conditions: []metav1.Condition{cond(ConditionIPAllocated, "True", "Allocated"), other, cond(ConditionAnnounced, "True", "Announced")}},
			corev1.ServiceStatus{Conditions: []metav1.Condition{other}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Status: tc.old}
			updated := old.DeepCopy()
			updated.Status = tc.new
			p, err := serviceStatusPatch(old, updated)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := p.Data(old)
			oldJSON, err := json.Marshal(old)
			if err != nil {
				t.Fatal(err)
			}
			got, err := strategicpatch.StrategicMergePatch(oldJSON, data, corev1.Service{})
			if err != nil {
				t.Fatalf("applying %s: %v", data, err)
			}
			var gotSvc corev1.Service
			if err := json.Unmarshal(got, &gotSvc); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.new, gotSvc.Status); diff != "" {
				t.Errorf("patch %s gives (-want +got):\n%s", data, diff)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestUpdateSafe: status updates are used only against an API server no
// newer than herald's k8s.io/api.
func TestUpdateSafe(t *testing.T) {
	for _, tc := range []struct {
		major, minor, apiTypes string
		want                   bool
	}{
		{"1", "37", "v0.37.1", true},
		{"1", "36", "v0.37.1", true},
		{"1", "37+", "v0.37.1", true},
		{"1", "38", "v0.37.1", false},
		{"1", "40+", "v0.37.1", false},
		{"2", "0", "v0.37.1", false},
		{"1", "", "v0.37.1", false},
		{"1", "37", "", false},
		{"1", "37", "(devel)", false},
		{"1", "37", "v1.0.0", false},
	} {
		got := updateSafe(&version.Info{Major: tc.major, Minor: tc.minor}, tc.apiTypes)
		if got != tc.want {
			t.Errorf("server %s.%s, k8s.io/api %q: updateSafe = %v, want %v", tc.major, tc.minor, tc.apiTypes, got, tc.want)
		}
	}
	if updateSafe(nil, "v0.37.1") {
		t.Error("updateSafe with no server version = true")
	}
}

// TestAPITypesVersion: apiTypesVersion is go.mod's k8s.io/api.
func TestAPITypesVersion(t *testing.T) {
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == "k8s.io/api" {
			if r.Mod.Version != apiTypesVersion {
				t.Errorf("go.mod requires k8s.io/api %s, apiTypesVersion is %s: change the constant", r.Mod.Version, apiTypesVersion)
			}
			return
		}
	}
	t.Error("go.mod does not require k8s.io/api")
}

// serverVersion is a ServerVersionInterface answering v, or err.
type serverVersion struct {
	v   *version.Info
	err error
}

func (s serverVersion) ServerVersion() (*version.Info, error) { return s.v, s.err }

// TestStatusWriter writes Service status against the API server: by update
// when it is safe, keeping the annotations and the managed fields the
// cache's copy lacks; by patch when the Service changed since that copy
// (keeping the other writer's condition); and always by patch against a
// newer API server or one whose version cannot be read.
func TestStatusWriter(t *testing.T) {
	cfg, _ := apitest.Start(t)
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	apitest.Namespace(t, c, "web")
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var updates, patches int
	counting := interceptor.NewClient(c, interceptor.Funcs{
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			updates++
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			patches++
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
	applied := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"}}`
	cond := func(typ, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason, Message: reason, LastTransitionTime: metav1.Now()}
	}
	// newService creates a Service as kubectl apply would, and returns the
	// cache's copy of it.
	newService := func(t *testing.T, name string) *corev1.Service {
		t.Helper()
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: name, Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: applied}},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}},
		}
		if err := c.Create(ctx, svc); err != nil {
			t.Fatal(err)
		}
		if len(svc.ManagedFields) == 0 {
			t.Fatal("the created Service has no managed fields")
		}
		cached, err := slimObject(svc.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		return cached.(*corev1.Service)
	}
	ours := func(old *corev1.Service) *corev1.Service {
		updated := old.DeepCopy()
		updated.Status.LoadBalancer.Ingress = ingressFor([]netip.Addr{netip.MustParseAddr("192.0.2.10")})
		meta.SetStatusCondition(&updated.Status.Conditions, cond(ConditionIPAllocated, ReasonAllocated))
		return updated
	}
	check := func(t *testing.T, name string, wantConds ...string) {
		t.Helper()
		var got corev1.Service
		if err := c.Get(ctx, client.ObjectKey{Namespace: "web", Name: name}, &got); err != nil {
			t.Fatal(err)
		}
		if got.Annotations[corev1.LastAppliedConfigAnnotation] != applied {
			t.Errorf("annotations after the write: %v, want kubectl's last-applied kept", got.Annotations)
		}
		if len(got.ManagedFields) == 0 {
			t.Error("the managed fields were lost")
		}
		if ips := StatusIPs(&got); len(ips) != 1 || ips[0] != netip.MustParseAddr("192.0.2.10") {
			t.Errorf("status IPs %v, want 192.0.2.10", ips)
		}
		for _, typ := range wantConds {
			if meta.FindStatusCondition(got.Status.Conditions, typ) == nil {
				t.Errorf("no condition %s in %+v", typ, got.Status.Conditions)
			}
		}
	}
	for _, tc := range []struct {
		name string
		// server answers the version; nil asks the API server.
		server discovery.ServerVersionInterface
		// otherWriter changes the Service after the cache's copy was read.
		otherWriter              bool
		wantUpdates, wantPatches int
		wantConds                []string
	}{
		{name: "update", wantUpdates: 1, wantConds: []string{ConditionIPAllocated}},
		{name: "changed-meanwhile", otherWriter: true, wantUpdates: 1, wantPatches: 1, wantConds: []string{ConditionIPAllocated, "example.com/Other"}},
		{name: "newer-server", server: serverVersion{v: &version.Info{Major: "1", Minor: "99"}}, wantPatches: 1, wantConds: []string{ConditionIPAllocated}},
		{name: "version-unknown", server: serverVersion{err: errors.New("connection refused")}, wantPatches: 1, wantConds: []string{ConditionIPAllocated}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := tc.server
			if server == nil {
				server = disco
			}
			w := newStatusWriter(counting, server)
			old := newService(t, tc.name)
			if tc.otherWriter {
				other := old.DeepCopy()
				meta.SetStatusCondition(&other.Status.Conditions, cond("example.com/Other", "Theirs"))
				if err := c.Status().Update(ctx, other); err != nil {
					t.Fatal(err)
				}
			}
			updates, patches = 0, 0
			if err := w.write(ctx, old, ours(old)); err != nil {
				t.Fatalf("write: %v", err)
			}
			if updates != tc.wantUpdates || patches != tc.wantPatches {
				t.Errorf("%d updates and %d patches, want %d and %d", updates, patches, tc.wantUpdates, tc.wantPatches)
			}
			check(t, tc.name, tc.wantConds...)
		})
	}
}
