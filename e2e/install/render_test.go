package install

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/heraldlb/herald/internal/testenv"
)

// TestDefaultRenders renders config/default with the kubectl `make
// control-plane` builds, and checks the objects it installs, that every
// image has a versioned tag (no :latest, which means imagePullPolicy
// Always), and the speaker's and controller's flags, probes and
// termination.
func TestDefaultRenders(t *testing.T) {
	kubectl := filepath.Join(testenv.ControlPlane(t), "kubectl")
	root := testenv.ModuleRoot(t)
	objs, err := Kustomize(kubectl, filepath.Join(root, "config", "default"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+" "+strings.TrimPrefix(o.GetNamespace()+"/"+o.GetName(), "/"))
	}
	want := []string{
		"Namespace herald-system",
		"CustomResourceDefinition bfdprofiles.heraldlb.io",
		"CustomResourceDefinition bgpadvertisements.heraldlb.io",
		"CustomResourceDefinition bgppeers.heraldlb.io",
		"CustomResourceDefinition communities.heraldlb.io",
		"CustomResourceDefinition ipaddresspools.heraldlb.io",
		"CustomResourceDefinition l2advertisements.heraldlb.io",
		"CustomResourceDefinition nodestates.heraldlb.io",
		"ServiceAccount herald-system/herald-controller",
		"ServiceAccount herald-system/herald-speaker",
		"Role herald-system/herald-controller",
		"Role herald-system/herald-speaker",
		"ClusterRole herald-controller",
		"ClusterRole herald-metrics-reader",
		"ClusterRole herald-speaker",
		"RoleBinding herald-system/herald-controller",
		"RoleBinding herald-system/herald-speaker",
		"ClusterRoleBinding herald-controller",
		"ClusterRoleBinding herald-speaker",
		"Service herald-system/herald-controller-metrics",
		"Service herald-system/herald-speaker-metrics",
		"Service herald-system/herald-webhook",
		"Deployment herald-system/herald-controller",
		"DaemonSet herald-system/herald-speaker",
		"ValidatingWebhookConfiguration herald-validating-webhook",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config/default's objects (-want +got):\n%s", diff)
	}

	var dep appsv1.Deployment
	var ds appsv1.DaemonSet
	for _, o := range objs {
		var into any
		switch o.GetKind() {
		case "Deployment":
			into = &dep
		case "DaemonSet":
			into = &ds
		default:
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
			t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	pods := map[string]corev1.PodSpec{"Deployment herald-controller": dep.Spec.Template.Spec, "DaemonSet herald-speaker": ds.Spec.Template.Spec}
	for owner, spec := range pods {
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			if !versioned(c.Image) {
				t.Errorf("%s container %s: image %q has no versioned tag (no tag, or :latest, means imagePullPolicy Always)", owner, c.Name, c.Image)
			}
		}
	}
	images := map[string]string{}
	for _, c := range append(append([]corev1.Container{}, ds.Spec.Template.Spec.InitContainers...), ds.Spec.Template.Spec.Containers...) {
		images[c.Name] = c.Image
	}
	wantImages := map[string]string{"copy-herald": "ghcr.io/heraldlb/herald:v0.1.0", "speaker": "ghcr.io/heraldlb/herald:v0.1.0", "frr": "ghcr.io/heraldlb/herald-frr:10.3-3_deb13u1"}
	if diff := cmp.Diff(wantImages, images); diff != "" {
		t.Errorf("speaker images (-want +got):\n%s", diff)
	}

	speaker, frr := container(t, ds.Spec.Template.Spec, "speaker"), container(t, ds.Spec.Template.Spec, "frr")
	// One socket path, passed to both.
	if !contains(speaker.Args, "--agent-socket=/run/herald/frr-agent.sock") || !contains(frr.Args, "--socket=/run/herald/frr-agent.sock") {
		t.Errorf("the speaker's --agent-socket and the agent's --socket differ: %q, %q", speaker.Args, frr.Args)
	}
	// FRR is started by the image's start script, which then runs the agent.
	if cmd := strings.Join(append(frr.Command, frr.Args...), " "); !strings.HasPrefix(cmd, "/usr/local/bin/herald-frr-start /shared/herald frr-agent ") {
		t.Errorf("the frr container runs %q, want herald-frr-start /shared/herald frr-agent ...", cmd)
	}
	// The socket belongs to the speaker's user.
	sc := speaker.SecurityContext
	if sc == nil || sc.RunAsUser == nil || !contains(frr.Args, "--socket-owner="+itoa(*sc.RunAsUser)+":"+itoa(*sc.RunAsGroup)) {
		t.Errorf("the agent's --socket-owner is not the speaker's user: %q, %+v", frr.Args, sc)
	}
	// L2's raw sockets: uid 0 with NET_RAW only (a non-root user never gets
	// it in its effective set).
	if sc == nil || *sc.RunAsUser != 0 || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !cmp.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !cmp.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_RAW"}) ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("speaker securityContext %+v: want uid 0, drop ALL, add NET_RAW, no privilege escalation, read-only root", sc)
	}
	// Probes.
	if p := speaker.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("speaker readiness probe %+v, want GET /readyz", p)
	}
	if p := frr.LivenessProbe; p == nil || p.Exec == nil || !cmp.Equal(p.Exec.Command, []string{"/usr/local/bin/herald-frr-check"}) {
		t.Errorf("frr liveness probe %+v, want herald-frr-check", p)
	}
	if c := container(t, dep.Spec.Template.Spec, "controller"); c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("controller readiness probe %+v, want GET /readyz", c.ReadinessProbe)
	}
	// Endpoints (issue 15 item 11): metrics over HTTPS behind the API
	// server's authentication and authorization; the speaker's health on
	// the node's loopback only (it runs on the host network), probed there;
	// the agent's metrics on the loopback, served again by the speaker.
	ctrlC := container(t, dep.Spec.Template.Spec, "controller")
	for _, c := range []corev1.Container{ctrlC, speaker} {
		if !contains(c.Args, "--metrics-secure=true") {
			t.Errorf("%s args %q: want --metrics-secure=true", c.Name, c.Args)
		}
	}
	if !contains(speaker.Args, "--health-addr=127.0.0.1:7475") {
		t.Errorf("speaker args %q: want --health-addr=127.0.0.1:7475 (host network: not on every node address)", speaker.Args)
	}
	for _, p := range []*corev1.Probe{speaker.ReadinessProbe, speaker.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Host != "127.0.0.1" || p.HTTPGet.Port.IntValue() != 7475 {
			t.Errorf("speaker probe %+v: want GET on 127.0.0.1:7475", p)
		}
	}
	for _, port := range speaker.Ports {
		if port.ContainerPort == 7475 {
			t.Errorf("speaker declares port %+v: its health answers on the loopback only", port)
		}
	}
	if !contains(frr.Args, "--metrics-address=127.0.0.1:7476") || !contains(speaker.Args, "--agent-metrics-url=http://127.0.0.1:7476/metrics") {
		t.Errorf("agent metrics: frr args %q, speaker args %q: want the agent on 127.0.0.1:7476 and the speaker serving it", frr.Args, speaker.Args)
	}

	// Termination: the speaker drains (graceful shutdown for the 5s
	// --drain-wait, then the withdrawal: two applies of at most 15s each),
	// and the agent waits for it, within the grace period.
	const drain = 5 + 2*15
	grace := ds.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil || *grace < drain+10 {
		t.Errorf("speaker terminationGracePeriodSeconds %v, want at least the drain's %ds + 10s", grace, drain)
	}
	if frr.Lifecycle == nil || frr.Lifecycle.PreStop == nil || frr.Lifecycle.PreStop.Exec == nil ||
		!cmp.Equal(frr.Lifecycle.PreStop.Exec.Command[:3], []string{"/shared/herald", "frr-agent", "wait"}) {
		t.Errorf("frr preStop %+v, want herald frr-agent wait", frr.Lifecycle)
	} else if !contains(frr.Lifecycle.PreStop.Exec.Command, "--timeout=50s") || *grace <= 50 {
		t.Errorf("frr preStop %q: want --timeout=50s (over the drain, under the grace period %d)", frr.Lifecycle.PreStop.Exec.Command, *grace)
	}
}

// versioned reports whether image names a tag other than latest (or a
// digest).
func versioned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return false
	}
	tag := image[i+1:]
	return tag != "" && tag != "latest"
}

func TestVersioned(t *testing.T) {
	for image, want := range map[string]bool{
		"ghcr.io/heraldlb/herald:v0.1.0": true, "ghcr.io/heraldlb/herald:latest": false, "ghcr.io/heraldlb/herald": false,
		"localhost:5000/herald": false, "localhost:5000/herald:v1": true, "ghcr.io/x/y@sha256:abc": true,
	} {
		if got := versioned(image); got != want {
			t.Errorf("versioned(%q) = %v, want %v", image, got, want)
		}
	}
}

func container(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s", name)
	return corev1.Container{}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
