package controllers

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Annotation suffixes herald reads on Services, each under every prefix of
// annotationPrefixes.
const (
	// AnnotationLoadBalancerIPs asks for specific IPs, comma-separated, at
	// most one per family.
	AnnotationLoadBalancerIPs = "loadBalancerIPs"
	// AnnotationAddressPool names the IPAddressPool to allocate from.
	AnnotationAddressPool = "address-pool"
	// AnnotationAllowSharedIP is the sharing key: Services with the same key
	// may share an IP when their ports do not clash.
	AnnotationAllowSharedIP = "allow-shared-ip"
)

// annotationPrefixes lists the spellings herald reads, its own first, then
// MetalLB's current and legacy ones.
func annotationPrefixes() []string {
	return []string{"heraldlb.io/", "metallb.io/", "metallb.universe.tf/"}
}

// Request is what a Service asks of the allocator, read from its spec and
// annotations.
type Request struct {
	// IPs are the requested addresses (spec.loadBalancerIP or the
	// loadBalancerIPs annotation), in the order given.
	IPs []netip.Addr
	// Pool is the pool named by the address-pool annotation, or "".
	Pool string
	// SharingKey is the allow-shared-ip annotation, or "".
	SharingKey string
}

// RequestError is a Service whose spec or annotations cannot be read: it
// names the field and the fix.
type RequestError struct {
	// Field is the annotation or spec field at fault.
	Field string
	// Message says what is wrong and what to change.
	Message string
}

func (e *RequestError) Error() string { return e.Field + ": " + e.Message }

// annotation returns the value of the annotation with the given suffix under
// any of herald's spellings, and the full name it was read from. Two
// spellings holding different values are an error.
func annotation(svc *corev1.Service, suffix string) (value, name string, err error) {
	for _, p := range annotationPrefixes() {
		v, ok := svc.Annotations[p+suffix]
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if name != "" && v != value {
			return "", "", &RequestError{
				Field:   "metadata.annotations[" + p + suffix + "]",
				Message: fmt.Sprintf("says %q but %s says %q; keep one of them", v, name, value),
			}
		}
		if name == "" {
			value, name = v, p+suffix
		}
	}
	return value, name, nil
}

// ReadRequest reads a Service's requested IPs, pool and sharing key. The
// error, a *RequestError, names the field and the fix.
func ReadRequest(svc *corev1.Service) (Request, error) {
	var r Request
	ips, name, err := annotation(svc, AnnotationLoadBalancerIPs)
	if err != nil {
		return r, err
	}
	if ips != "" {
		for _, s := range strings.Split(ips, ",") {
			s = strings.TrimSpace(s)
			a, perr := netip.ParseAddr(s)
			if perr != nil || a.Zone() != "" {
				return Request{}, &RequestError{
					Field:   "metadata.annotations[" + name + "]",
					Message: fmt.Sprintf("%q is not an IP address; write a comma-separated list of IPv4/IPv6 addresses, at most one per family", s),
				}
			}
			r.IPs = append(r.IPs, a.Unmap())
		}
	}
	if lb := strings.TrimSpace(svc.Spec.LoadBalancerIP); lb != "" {
		a, perr := netip.ParseAddr(lb)
		if perr != nil || a.Zone() != "" {
			return Request{}, &RequestError{
				Field:   "spec.loadBalancerIP",
				Message: fmt.Sprintf("%q is not an IP address; set an IPv4 or IPv6 address or remove the field", lb),
			}
		}
		a = a.Unmap()
		if len(r.IPs) > 0 && !containsAddr(r.IPs, a) {
			return Request{}, &RequestError{
				Field:   "spec.loadBalancerIP",
				Message: fmt.Sprintf("%s is not among the IPs %s asks for (%s); remove spec.loadBalancerIP (deprecated) or make them agree", a, name, ips),
			}
		}
		if len(r.IPs) == 0 {
			r.IPs = []netip.Addr{a}
		}
	}
	if r.Pool, _, err = annotation(svc, AnnotationAddressPool); err != nil {
		return Request{}, err
	}
	if r.SharingKey, _, err = annotation(svc, AnnotationAllowSharedIP); err != nil {
		return Request{}, err
	}
	return r, nil
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, b := range list {
		if b == a {
			return true
		}
	}
	return false
}

// Serves reports whether the controller serving lbClass ("" for Services
// with no class) is in charge of svc: a LoadBalancer Service with that class.
func Serves(svc *corev1.Service, lbClass string) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return false
	}
	if svc.Spec.LoadBalancerClass == nil {
		return lbClass == ""
	}
	return *svc.Spec.LoadBalancerClass == lbClass
}

// StatusIPs returns the IPs in a Service's status.loadBalancer.ingress,
// skipping hostnames and entries that do not parse.
func StatusIPs(svc *corev1.Service) []netip.Addr {
	var out []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}
