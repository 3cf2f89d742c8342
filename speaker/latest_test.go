package speaker

import (
	"testing"
	"time"
)

// step is one call on a latest[string] and what it must answer.
type step struct {
	op string // offer, start, done, fail, retry
	v  string // offer's value; start's and retry's wanted value ("" for none)
	// idle is offer's wanted answer; in is done's and fail's wanted delay.
	idle bool
	in   time.Duration
}

func TestLatest(t *testing.T) {
	const base, limit = time.Second, 4 * time.Second
	tests := []struct {
		name  string
		steps []step
	}{
		{"idle: an offer starts at once", []step{
			{op: "start"},
			{op: "offer", v: "a", idle: true},
			{op: "start", v: "a"},
			{op: "start"},
			{op: "done"},
			{op: "start"},
			{op: "retry"},
		}},
		{"latest wins: offers during an apply replace each other", []step{
			{op: "offer", v: "a", idle: true},
			{op: "start", v: "a"},
			{op: "offer", v: "b"},
			{op: "offer", v: "c"},
			{op: "start"}, // one apply in flight at most
			{op: "done"},
			{op: "start", v: "c"},
			{op: "done"},
			{op: "start"},
		}},
		{"a pending value equal to the one applied is dropped", []step{
			{op: "offer", v: "a", idle: true},
			{op: "start", v: "a"},
			{op: "offer", v: "b"},
			{op: "offer", v: "a"},
			{op: "done"},
			{op: "start"},
		}},
		{"a pending value equal to a failed one is tried at once", []step{
			{op: "offer", v: "a", idle: true},
			{op: "start", v: "a"},
			{op: "offer", v: "b"},
			{op: "offer", v: "a"},
			{op: "fail"},
			{op: "start", v: "a"},
		}},
		{"failures back off, doubling up to the limit", []step{
			{op: "offer", v: "a", idle: true},
			{op: "start", v: "a"},
			{op: "fail", in: time.Second},
			{op: "start"},
			{op: "retry", v: "a"},
			{op: "retry"},
			{op: "fail", in: 2 * time.Second},
			{op: "retry", v: "a"},
			{op: "fail", in: 4 * time.Second},
			{op: "retry", v: "a"},
			{op: "fail", in: 4 * time.Second},
			{op: "retry", v: "a"},
			{op: "done"},
			{op: "retry"},
			// After a success the backoff starts again from base.
			{op: "offer", v: "b", idle: true},
			{op: "start", v: "b"},
			{op: "fail", in: time.Second},
		}},
		{"a new value cancels a retry and is tried at once", []step{
			{op: "offer", v: "a", idle: true},
			{op: "start", v: "a"},
			{op: "fail", in: time.Second},
			{op: "retry", v: "a"},
			{op: "fail", in: 2 * time.Second},
			{op: "offer", v: "b", idle: true},
			{op: "retry"}, // the old timer fires: nothing to retry
			{op: "start", v: "b"},
			{op: "fail", in: time.Second},
		}},
		{"a failure superseded by a pending value is not retried", []step{
			{op: "offer", v: "a", idle: true},
			{op: "start", v: "a"},
			{op: "offer", v: "b"},
			{op: "fail"},
			{op: "retry"},
			{op: "start", v: "b"},
			{op: "done"},
			{op: "retry"},
		}},
		{"an offer during a retry waits for it", []step{
			{op: "offer", v: "a", idle: true},
			{op: "start", v: "a"},
			{op: "fail", in: time.Second},
			{op: "retry", v: "a"},
			{op: "offer", v: "b"},
			{op: "start"},
			{op: "fail"},
			{op: "start", v: "b"},
		}},
		{"done with nothing in flight changes nothing", []step{
			{op: "done"},
			{op: "fail"},
			{op: "retry"},
			{op: "offer", v: "a", idle: true},
			{op: "start", v: "a"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newLatest(base, limit, func(a, b string) bool { return a == b })
			for i, s := range tt.steps {
				switch s.op {
				case "offer":
					if idle := q.offer(s.v); idle != s.idle {
						t.Fatalf("step %d: offer(%q) idle = %v, want %v", i, s.v, idle, s.idle)
					}
				case "start", "retry":
					f := q.start
					if s.op == "retry" {
						f = q.retryDue
					}
					v, ok := f()
					if ok != (s.v != "") || v != s.v {
						t.Fatalf("step %d: %s = %q, %v; want %q", i, s.op, v, ok, s.v)
					}
				case "done", "fail":
					if in := q.done(s.op == "done"); in != s.in {
						t.Fatalf("step %d: %s retry in %v, want %v", i, s.op, in, s.in)
					}
				default:
					t.Fatalf("step %d: unknown op %q", i, s.op)
				}
			}
		})
	}
}
