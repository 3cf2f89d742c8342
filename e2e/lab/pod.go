package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Labels on the EndpointSlices of lab pods.
const (
	// PodLabel names the lab pod an EndpointSlice belongs to.
	PodLabel = "heraldlb.io/lab-pod"
	// managedBy is the EndpointSlice manager of lab pods.
	managedBy = "herald-lab"
	// DefaultPodPort is the port a pod serves when neither PodSpec.Port
	// nor a Service port gives one.
	DefaultPodPort = 8080
)

// PodSpec describes a lab pod: a tiny HTTP server inside a node's
// namespace, and the EndpointSlices making it a ready endpoint of a Service
// on that node.
type PodSpec struct {
	// Name is the pod's name, a DNS label unique among this lab's pods.
	Name string
	// Node is the node running it ("node2").
	Node string
	// Service is the Service it backs, "namespace/name".
	Service string
	// Port is the port it serves; zero means the Service's first port's
	// targetPort (or port), else DefaultPodPort.
	Port int32
}

// Pod is a running lab pod.
type Pod struct {
	Spec PodSpec
	// Addr4 and Addr6 are its endpoint addresses (the node's LAN addresses).
	Addr4, Addr6 string
	// Port is the port it serves on every address of the node's namespace,
	// the VIP ranges included.
	Port int32

	namespace string
	srv       *http.Server
	done      chan struct{}
	// unhealthy makes every answer a 503 (SetHealthy).
	unhealthy atomic.Bool
}

// SetHealthy makes the pod answer every request with 200 (true, as it
// starts) or 503 Service Unavailable (false), its EndpointSlices left as
// they are: a backend that a health check finds broken while Kubernetes
// still calls it ready.
func (p *Pod) SetHealthy(healthy bool) { p.unhealthy.Store(!healthy) }

// StartPod starts a pod: an HTTP server answering "pod NAME on NODE" on the
// node's namespace, and an EndpointSlice per address family of the Service
// (both when the Service does not exist yet) with the pod as a ready
// endpoint on its node. The pod lives until StopPod, Close or Down, or the
// end of this process.
func (l *Lab) StartPod(ctx context.Context, spec PodSpec) (*Pod, error) {
	if errs := validation.IsDNS1123Label(spec.Name); len(errs) > 0 {
		return nil, fmt.Errorf("lab pod: PodSpec.Name %q: %s", spec.Name, strings.Join(errs, "; "))
	}
	node, ok := l.plan.Node(spec.Node)
	if !ok {
		return nil, fmt.Errorf("lab pod %s: PodSpec.Node %q is not a lab node: use one of %s", spec.Name, spec.Node, strings.Join(l.plan.Names()[2:], ", "))
	}
	svcNS, svcName, ok := strings.Cut(spec.Service, "/")
	if !ok || svcNS == "" || svcName == "" {
		return nil, fmt.Errorf("lab pod %s: PodSpec.Service %q: write it as namespace/name", spec.Name, spec.Service)
	}
	l.mu.Lock()
	_, dup := l.pods[spec.Name]
	l.mu.Unlock()
	if dup {
		return nil, fmt.Errorf("lab pod %s: a pod of that name runs already: stop it first or pick another name", spec.Name)
	}
	families := []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	var ports []discoveryv1.EndpointPort
	port := spec.Port
	svc, err := l.client.CoreV1().Services(svcNS).Get(ctx, svcName, metav1.GetOptions{})
	switch {
	case err == nil:
		if len(svc.Spec.IPFamilies) > 0 {
			families = svc.Spec.IPFamilies
		}
		for _, sp := range svc.Spec.Ports {
			target := sp.Port
			if sp.TargetPort.IntVal != 0 {
				target = sp.TargetPort.IntVal
			}
			if port == 0 {
				port = target
			}
			ports = append(ports, endpointPort(sp.Name, target, sp.Protocol))
		}
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("lab pod %s: reading Service %s: %w", spec.Name, spec.Service, err)
	}
	if port == 0 {
		port = DefaultPodPort
	}
	if len(ports) == 0 {
		ports = []discoveryv1.EndpointPort{endpointPort("", port, corev1.ProtocolTCP)}
	}
	ln, err := listenInNetns(node.Netns, port)
	if err != nil {
		return nil, fmt.Errorf("lab pod %s: %w", spec.Name, err)
	}
	p := &Pod{Spec: spec, Addr4: node.LAN4.String(), Addr6: node.LAN6.String(), Port: port, namespace: svcNS, done: make(chan struct{})}
	body := fmt.Sprintf("pod %s on %s\n", spec.Name, spec.Node)
	p.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if p.unhealthy.Load() {
				http.Error(w, "unhealthy", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte(body))
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() {
		defer close(p.done)
		_ = p.srv.Serve(ln)
	}()
	for _, fam := range families {
		addr, typ, suffix := p.Addr4, discoveryv1.AddressTypeIPv4, "v4"
		if fam == corev1.IPv6Protocol {
			addr, typ, suffix = p.Addr6, discoveryv1.AddressTypeIPv6, "v6"
		}
		ready, nodeName := true, spec.Node
		slice := &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Name:      fmt.Sprintf("%s-lab-%s-%s", svcName, spec.Name, suffix),
				Namespace: svcNS,
				Labels: map[string]string{
					discoveryv1.LabelServiceName: svcName,
					discoveryv1.LabelManagedBy:   managedBy,
					PodLabel:                     spec.Name,
				},
			},
			AddressType: typ,
			Endpoints: []discoveryv1.Endpoint{{
				Addresses:  []string{addr},
				Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &ready},
				NodeName:   &nodeName,
			}},
			Ports: ports,
		}
		if _, err := l.client.DiscoveryV1().EndpointSlices(svcNS).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
			_ = p.stop(context.WithoutCancel(ctx), l)
			return nil, fmt.Errorf("lab pod %s: creating EndpointSlice %s/%s: %w", spec.Name, svcNS, slice.Name, err)
		}
	}
	l.mu.Lock()
	l.pods[spec.Name] = p
	l.mu.Unlock()
	return p, nil
}

func endpointPort(name string, port int32, proto corev1.Protocol) discoveryv1.EndpointPort {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	return discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &proto}
}

// StopPod stops the pod named name and deletes its EndpointSlices.
func (l *Lab) StopPod(ctx context.Context, name string) error {
	l.mu.Lock()
	p, ok := l.pods[name]
	delete(l.pods, name)
	l.mu.Unlock()
	if !ok {
		return fmt.Errorf("lab pod %s: no such pod runs in this process", name)
	}
	return p.stop(ctx, l)
}

func (p *Pod) stop(ctx context.Context, l *Lab) error {
	var errs []error
	if err := p.srv.Close(); err != nil {
		errs = append(errs, err)
	}
	<-p.done
	err := l.client.DiscoveryV1().EndpointSlices(p.namespace).DeleteCollection(ctx, metav1.DeleteOptions{},
		metav1.ListOptions{LabelSelector: PodLabel + "=" + p.Spec.Name})
	if err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("lab pod %s: deleting its EndpointSlices: %w", p.Spec.Name, err))
	}
	return errors.Join(errs...)
}

// stopPods stops every pod of this process.
func (l *Lab) stopPods(ctx context.Context) {
	l.mu.Lock()
	names := make([]string, 0, len(l.pods))
	for n := range l.pods {
		names = append(names, n)
	}
	l.mu.Unlock()
	for _, n := range names {
		_ = l.StopPod(ctx, n)
	}
}

// listenInNetns opens a TCP listener on every address (IPv4 and IPv6) of
// network namespace ns, from this process: a thread enters the namespace,
// opens the socket (which stays in that namespace) and goes back.
func listenInNetns(ns string, port int32) (net.Listener, error) {
	var ln net.Listener
	err := inNetns(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", ":"+strconv.Itoa(int(port)))
		if err != nil {
			return fmt.Errorf("listening on port %d in %s: %w", port, ns, err)
		}
		return nil
	})
	if err != nil && ln != nil {
		ln.Close()
		return nil, err
	}
	return ln, err
}
