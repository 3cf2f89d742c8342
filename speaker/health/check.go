package health

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Annotations of a Service's health check.
const (
	AnnotationCheck    = "heraldlb.io/health-check"
	AnnotationInterval = "heraldlb.io/health-check-interval"
	AnnotationRise     = "heraldlb.io/health-check-rise"
	AnnotationFall     = "heraldlb.io/health-check-fall"
	// AnnotationPrefix is what every health annotation starts with.
	AnnotationPrefix = AnnotationCheck
)

// Defaults and bounds of a check's settings.
const (
	DefaultInterval = 2 * time.Second
	DefaultRise     = 2
	DefaultFall     = 3
	MinInterval     = 100 * time.Millisecond
	MaxInterval     = time.Minute
	MaxThreshold    = 10
	// MaxTimeout bounds one probe: a probe times out after the interval
	// or MaxTimeout, whichever is shorter.
	MaxTimeout = time.Second
)

// Protocols of a check.
const (
	TCP  = "tcp"
	HTTP = "http"
)

// Check is a parsed health check.
type Check struct {
	// Protocol is TCP or HTTP.
	Protocol string
	// Port is the endpoints' port.
	Port uint16
	// Path is the HTTP path (HTTP only; "/" by default).
	Path string
	// Interval is the time between two probes of one endpoint.
	Interval time.Duration
	// Rise and Fall are the hysteresis thresholds (see State).
	Rise, Fall int
}

// Timeout is how long one probe may take.
func (c Check) Timeout() time.Duration { return min(c.Interval, MaxTimeout) }

// String renders c in the annotations' spelling, for status and logs.
func (c Check) String() string {
	s := fmt.Sprintf("%s:%d", c.Protocol, c.Port)
	if c.Protocol == HTTP {
		s += c.Path
	}
	return fmt.Sprintf("%s every %s, rise %d, fall %d", s, c.Interval, c.Rise, c.Fall)
}

// Parse reads a Service's health check from its annotations. It returns
// nil and no error when the Service asks for none. The error names the
// annotation at fault and how to fix it; the caller then announces the
// Service as if it had no check.
func Parse(annotations map[string]string) (*Check, error) {
	spec, ok := annotations[AnnotationCheck]
	if !ok {
		for _, a := range []string{AnnotationInterval, AnnotationRise, AnnotationFall} {
			if _, set := annotations[a]; set {
				return nil, fmt.Errorf("annotation %s is set but %s is not: add %s (e.g. tcp:8080 or http:8080/healthz) or remove %s", a, AnnotationCheck, AnnotationCheck, a)
			}
		}
		return nil, nil
	}
	c := &Check{Interval: DefaultInterval, Rise: DefaultRise, Fall: DefaultFall}
	bad := func(why string) error {
		return fmt.Errorf("annotation %s=%q: %s: write tcp:PORT or http:PORT/PATH, e.g. tcp:8080 or http:8080/healthz", AnnotationCheck, spec, why)
	}
	proto, rest, ok := strings.Cut(strings.TrimSpace(spec), ":")
	if !ok {
		return nil, bad("no protocol")
	}
	c.Protocol = strings.ToLower(proto)
	port := rest
	switch c.Protocol {
	case TCP:
	case HTTP:
		c.Path = "/"
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			port, c.Path = rest[:i], rest[i:]
		}
		for _, r := range c.Path {
			if r <= ' ' || r == 0x7f {
				return nil, bad("the path holds a space or control character")
			}
		}
	default:
		return nil, bad(fmt.Sprintf("unknown protocol %q", proto))
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return nil, bad(fmt.Sprintf("port %q is not a number from 1 to 65535 (a named port is not supported)", port))
	}
	c.Port = uint16(n)
	if v, ok := annotations[AnnotationInterval]; ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < MinInterval || d > MaxInterval {
			return nil, fmt.Errorf("annotation %s=%q: not a duration from %s to %s: write e.g. 2s or 500ms, or remove it for %s", AnnotationInterval, v, MinInterval, MaxInterval, DefaultInterval)
		}
		c.Interval = d
	}
	for _, t := range []struct {
		name string
		def  int
		dst  *int
	}{{AnnotationRise, DefaultRise, &c.Rise}, {AnnotationFall, DefaultFall, &c.Fall}} {
		v, ok := annotations[t.name]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > MaxThreshold {
			return nil, fmt.Errorf("annotation %s=%q: not a whole number from 1 to %d: write e.g. %d, or remove it for %d", t.name, v, MaxThreshold, t.def, t.def)
		}
		*t.dst = n
	}
	return c, nil
}
