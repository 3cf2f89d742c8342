package controllers

import (
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
)

func TestNormalEventLimiter(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}
	type send struct {
		typ     string
		advance time.Duration // the clock moves this much before the event
	}
	normal := func(advance time.Duration) send { return send{corev1.EventTypeNormal, advance} }
	warning := send{typ: corev1.EventTypeWarning}
	tests := []struct {
		name  string
		qps   float64
		burst int
		sends []send
		// sent are the types of the events that reach the recorder, in order.
		sent    []string
		skipped float64
		logs    int
	}{
		{
			name: "no limit", qps: 0, burst: 0,
			sends: []send{normal(0), normal(0), normal(0), warning},
			sent:  []string{"Normal", "Normal", "Normal", "Warning"},
		},
		{
			name: "a burst passes, then Normal events are skipped and Warnings still pass", qps: 0.001, burst: 2,
			sends:   []send{normal(0), normal(0), normal(0), warning, normal(0), warning},
			sent:    []string{"Normal", "Normal", "Warning", "Warning"},
			skipped: 2, logs: 1,
		},
		{
			name: "the bucket refills at qps", qps: 1, burst: 1,
			sends:   []send{normal(0), normal(0), normal(1100 * time.Millisecond)},
			sent:    []string{"Normal", "Normal"},
			skipped: 1, logs: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := events.NewFakeRecorder(len(tt.sends))
			var logs []string
			log := funcr.New(func(_, args string) { logs = append(logs, args) }, funcr.Options{})
			l := newNormalEventLimiter(rec, tt.qps, tt.burst, nil, log)
			for _, s := range tt.sends {
				if s.advance > 0 {
					// The bucket reads the wall clock: wait for real.
					time.Sleep(s.advance)
				}
				l.Eventf(svc, nil, s.typ, "Reason", "Action", "note %d", 1)
			}
			close(rec.Events)
			var got []string
			for e := range rec.Events {
				typ, _, _ := strings.Cut(e, " ")
				got = append(got, typ)
			}
			if strings.Join(got, ",") != strings.Join(tt.sent, ",") {
				t.Errorf("events sent: %v, want %v", got, tt.sent)
			}
			if v := testutil.ToFloat64(l.skipped); v != tt.skipped {
				t.Errorf("herald_events_skipped_total = %v, want %v", v, tt.skipped)
			}
			if len(logs) != tt.logs {
				t.Errorf("%d log lines, want %d: %q", len(logs), tt.logs, logs)
			}
		})
	}
}

// TestNormalEventLimiterLogsOncePerMinute: skips are logged at most once a
// minute, with the count since the last line.
func TestNormalEventLimiterLogsOncePerMinute(t *testing.T) {
	var logs []string
	log := funcr.New(func(_, args string) { logs = append(logs, args) }, funcr.Options{})
	l := newNormalEventLimiter(events.NewFakeRecorder(10), 0.0001, 1, nil, log)
	clock := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return clock }
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}
	for i := 0; i < 4; i++ { // 1 sent, 3 skipped: logged at the first skip
		l.Eventf(svc, nil, corev1.EventTypeNormal, "Allocated", "Allocate", "x")
	}
	clock = clock.Add(61 * time.Second)
	l.Eventf(svc, nil, corev1.EventTypeNormal, "Allocated", "Allocate", "x")
	if len(logs) != 2 {
		t.Fatalf("%d log lines, want 2: %q", len(logs), logs)
	}
	if !strings.Contains(logs[0], `"skipped"=1`) || !strings.Contains(logs[1], `"skipped"=3`) {
		t.Errorf("log lines do not count the skips since the last one: %q", logs)
	}
}
