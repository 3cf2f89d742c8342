package speaker

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frragent"
)

func TestReady(t *testing.T) {
	allUp := frragent.Health{Daemons: []frragent.DaemonHealth{{Name: "zebra", Up: true}, {Name: "bgpd", Up: true}, {Name: "bfdd", Up: true}, {Name: "staticd", Up: true}}}
	bgpdDown := frragent.Health{Daemons: []frragent.DaemonHealth{{Name: "zebra", Up: true}, {Name: "bgpd", Error: "bgpd does not answer: connection refused"}, {Name: "bfdd", Up: true}, {Name: "staticd", Up: true}}}
	tests := []struct {
		name string
		in   ReadyInput
		// want are the substrings of the error, in order; none: ready.
		want []string
	}{
		{name: "all well, before any apply", in: ReadyInput{Health: allUp}},
		{name: "all well, applied", in: ReadyInput{Health: allUp, LastApply: &v1beta1.FRRConfigStatus{Generation: 3, Result: v1beta1.FRRApplied}}},
		{name: "rejected config: the last good one runs", in: ReadyInput{Health: allUp, LastApply: &v1beta1.FRRConfigStatus{Generation: 3, Result: v1beta1.FRRRejected}}},
		{name: "agent unreachable", in: ReadyInput{AgentErr: errors.New("dial unix /run/herald/frr-agent.sock: connect: permission denied")},
			want: []string{"the frr-agent does not answer", "permission denied"}},
		{name: "bgpd down", in: ReadyInput{Health: bgpdDown}, want: []string{"FRR daemons down: bgpd", "connection refused"}},
		{name: "agent checks nothing", in: ReadyInput{Health: frragent.Health{}}, want: []string{"checks no FRR daemon"}},
		{name: "last apply failed", in: ReadyInput{Health: allUp, LastApply: &v1beta1.FRRConfigStatus{Generation: 7, Result: v1beta1.FRRFailed, Message: "frr-reload.py timed out"}},
			want: []string{"generation 7", "frr-reload.py timed out"}},
		{name: "L2 sockets refused", in: ReadyInput{Health: allUp, L2: true, L2Err: errors.New("opening ARP socket on eth0: operation not permitted")},
			want: []string{"layer 2 mode cannot answer", "operation not permitted"}},
		{name: "L2 off: its error does not count", in: ReadyInput{Health: allUp, L2: false, L2Err: errors.New("refused")}},
		{name: "BGP off, L2 well: no agent nor FRR asked for", in: ReadyInput{BGPOff: true, L2: true}},
		{name: "BGP off, L2 sockets refused", in: ReadyInput{BGPOff: true, L2: true, L2Err: errors.New("opening ARP socket on eth0: operation not permitted")},
			want: []string{"layer 2 mode cannot answer", "operation not permitted"}},
		{name: "everything wrong at once", in: ReadyInput{AgentErr: errors.New("no agent"), LastApply: &v1beta1.FRRConfigStatus{Result: v1beta1.FRRFailed}, L2: true, L2Err: errors.New("no raw")},
			want: []string{"no agent", "failed", "no raw"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Ready(tc.in)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Ready = %v, want ready", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Ready = nil, want an error saying %q", tc.want)
			}
			rest := err.Error()
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("Ready = %q, want %q (in order %q)", err, w, tc.want)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestL2Condition(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	got := []metav1.Condition{l2Condition(nil, now), l2Condition(errors.New("no CAP_NET_RAW"), now)}
	want := []metav1.Condition{
		{Type: ConditionL2Ready, Status: metav1.ConditionTrue, Reason: "SocketsOpen", Message: "the raw sockets answering ARP and NDP are open", LastTransitionTime: metav1.NewTime(now.Truncate(time.Second))},
		{Type: ConditionL2Ready, Status: metav1.ConditionFalse, Reason: "SocketError", Message: "no CAP_NET_RAW", LastTransitionTime: metav1.NewTime(now.Truncate(time.Second))},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("l2Condition (-want +got):\n%s", diff)
	}
}
