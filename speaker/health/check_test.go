package health

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	def := func(c Check) *Check {
		if c.Interval == 0 {
			c.Interval = DefaultInterval
		}
		if c.Rise == 0 {
			c.Rise = DefaultRise
		}
		if c.Fall == 0 {
			c.Fall = DefaultFall
		}
		return &c
	}
	for _, tc := range []struct {
		name string
		ann  map[string]string
		want *Check
		// err is a part of the error, which must name the annotation.
		err, annotation string
	}{
		{name: "none", ann: map[string]string{"other": "x"}},
		{name: "tcp", ann: map[string]string{AnnotationCheck: "tcp:8080"}, want: def(Check{Protocol: TCP, Port: 8080})},
		{name: "upper case, spaces", ann: map[string]string{AnnotationCheck: " TCP:80 "}, want: def(Check{Protocol: TCP, Port: 80})},
		{name: "http default path", ann: map[string]string{AnnotationCheck: "http:8080"}, want: def(Check{Protocol: HTTP, Port: 8080, Path: "/"})},
		{name: "http path", ann: map[string]string{AnnotationCheck: "http:8080/healthz?x=1"}, want: def(Check{Protocol: HTTP, Port: 8080, Path: "/healthz?x=1"})},
		{name: "all settings", ann: map[string]string{AnnotationCheck: "tcp:1", AnnotationInterval: "500ms", AnnotationRise: "1", AnnotationFall: "10"},
			want: &Check{Protocol: TCP, Port: 1, Interval: 500 * time.Millisecond, Rise: 1, Fall: 10}},
		{name: "no protocol", ann: map[string]string{AnnotationCheck: "8080"}, err: "no protocol", annotation: AnnotationCheck},
		{name: "unknown protocol", ann: map[string]string{AnnotationCheck: "udp:53"}, err: `unknown protocol "udp"`, annotation: AnnotationCheck},
		{name: "named port", ann: map[string]string{AnnotationCheck: "tcp:http"}, err: "named port", annotation: AnnotationCheck},
		{name: "port 0", ann: map[string]string{AnnotationCheck: "tcp:0"}, err: "from 1 to 65535", annotation: AnnotationCheck},
		{name: "port too big", ann: map[string]string{AnnotationCheck: "http:70000/x"}, err: "from 1 to 65535", annotation: AnnotationCheck},
		{name: "tcp with a path", ann: map[string]string{AnnotationCheck: "tcp:80/x"}, err: "not a number", annotation: AnnotationCheck},
		{name: "path with a space", ann: map[string]string{AnnotationCheck: "http:80/a b"}, err: "space or control", annotation: AnnotationCheck},
		{name: "bad interval", ann: map[string]string{AnnotationCheck: "tcp:80", AnnotationInterval: "2"}, err: "not a duration", annotation: AnnotationInterval},
		{name: "interval too short", ann: map[string]string{AnnotationCheck: "tcp:80", AnnotationInterval: "10ms"}, err: "from 100ms to 1m0s", annotation: AnnotationInterval},
		{name: "rise 0", ann: map[string]string{AnnotationCheck: "tcp:80", AnnotationRise: "0"}, err: "from 1 to 10", annotation: AnnotationRise},
		{name: "fall word", ann: map[string]string{AnnotationCheck: "tcp:80", AnnotationFall: "three"}, err: "whole number", annotation: AnnotationFall},
		{name: "setting without a check", ann: map[string]string{AnnotationFall: "3"}, err: "is not", annotation: AnnotationFall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.ann)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.annotation) || got != nil {
					t.Fatalf("Parse(%v) = %v, %v; want an error with %q naming %s", tc.ann, got, err, tc.err, tc.annotation)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%v): %v", tc.ann, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse(%v) (-want +got):\n%s", tc.ann, diff)
			}
		})
	}
}

func TestObserve(t *testing.T) {
	t0 := time.Unix(1000, 0)
	fail := errString("refused")
	type step struct {
		err   error
		gated bool
	}
	for _, tc := range []struct {
		name       string
		rise, fall int
		steps      []step
	}{
		{name: "starts healthy, gated after fall failures", rise: 2, fall: 3,
			steps: []step{{fail, false}, {fail, false}, {fail, true}, {fail, true}}},
		{name: "a pass resets the failures", rise: 2, fall: 3,
			steps: []step{{fail, false}, {fail, false}, {nil, false}, {fail, false}, {fail, false}, {fail, true}}},
		{name: "rise successes ungate", rise: 2, fall: 1,
			steps: []step{{fail, true}, {nil, true}, {fail, true}, {nil, true}, {nil, false}, {nil, false}}},
		{name: "fall 1 rise 1", rise: 1, fall: 1,
			steps: []step{{nil, false}, {fail, true}, {nil, false}, {fail, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s State
			var since time.Time
			for i, st := range tc.steps {
				now := t0.Add(time.Duration(i) * time.Second)
				prev := s.Gated
				s = s.Observe(st.err, now, tc.rise, tc.fall)
				if s.Gated != st.gated {
					t.Fatalf("step %d (err %v): gated %v, want %v (state %+v)", i, st.err, s.Gated, st.gated, s)
				}
				if s.Gated != prev {
					since = now
				}
				if !s.Since.Equal(since) {
					t.Errorf("step %d: since %v, want %v", i, s.Since, since)
				}
				if (st.err != nil) != (s.LastError != "") {
					t.Errorf("step %d: last error %q after err %v", i, s.LastError, st.err)
				}
			}
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }
