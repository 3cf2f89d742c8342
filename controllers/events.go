package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// eventsComponent is the reportingController of herald's Events.
const eventsComponent = "herald-controller"

// newEventRecorder returns the recorder herald's reconcilers share. It
// records events.k8s.io/v1 Events, as the manager's own recorder does, but
// sends them in protobuf: a new Service costs one Event, and the API server
// spends about 2.0 ms of CPU on a protobuf Event against 2.9 ms on a JSON
// one (the manager's recorder offers no choice). Recording starts at once,
// so that no event of the first reconciles is lost, and stops with mgr.
func newEventRecorder(mgr manager.Manager) (events.EventRecorder, error) {
	cfg := rest.CopyConfig(mgr.GetConfig())
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cs, err := eventsv1client.NewForConfigAndClient(cfg, mgr.GetHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("creating the events client: %w", err)
	}
	b := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs})
	ctx, cancel := context.WithCancel(context.Background())
	if err := b.StartRecordingToSinkWithContext(ctx); err != nil {
		cancel()
		return nil, fmt.Errorf("starting the event recorder: %w", err)
	}
	stopLogging, err := b.StartLogging(mgr.GetLogger().WithName("events").V(1))
	if err != nil {
		cancel()
		b.Shutdown()
		return nil, fmt.Errorf("starting the event log: %w", err)
	}
	stop := eventsStopper(func() {
		stopLogging()
		cancel()
		b.Shutdown()
	})
	if err := mgr.Add(stop); err != nil {
		stop()
		return nil, fmt.Errorf("adding the event recorder to the manager: %w", err)
	}
	return b.NewRecorder(mgr.GetScheme(), eventsComponent), nil
}

// eventsStopper stops the event recorder when the manager stops, leader or
// not.
type eventsStopper func()

// Start waits for the manager to stop.
func (s eventsStopper) Start(ctx context.Context) error {
	<-ctx.Done()
	s()
	return nil
}

// NeedLeaderElection is false: the recorder runs in every replica.
func (eventsStopper) NeedLeaderElection() bool { return false }

// normalEventLimiter lets Warning events through, and Normal ones while a
// token bucket allows. A Service's Allocated event is a write as costly to
// the API server as half its status write (about 2 ms of its CPU): when
// thousands of Services arrive at once, it is IPs the user waits for, and
// each Service's IPAllocated condition says what its event would have.
// Skipped events are counted in herald_events_skipped_total and logged at
// most once a minute; Warning events, which say why a Service or pool is
// not served, are never skipped.
type normalEventLimiter struct {
	events.EventRecorder
	bucket  *rate.Limiter
	skipped prometheus.Counter
	log     logr.Logger

	mu       sync.Mutex
	unlogged int
	logged   time.Time
	now      func() time.Time
}

// newNormalEventLimiter wraps r so that Normal events pass at most qps a
// second, with bursts of burst; qps ≤ 0 lets every event pass. skipped
// (herald_events_skipped_total, registered by NewMetrics) counts the events
// left out; nil counts them nowhere.
func newNormalEventLimiter(r events.EventRecorder, qps float64, burst int, skipped prometheus.Counter, log logr.Logger) *normalEventLimiter {
	if skipped == nil {
		skipped = prometheus.NewCounter(prometheus.CounterOpts{Name: "herald_events_skipped_total", Help: "unregistered"})
	}
	l := &normalEventLimiter{
		EventRecorder: r,
		skipped:       skipped,
		log:           log,
		now:           time.Now,
	}
	if qps > 0 {
		l.bucket = rate.NewLimiter(rate.Limit(qps), max(burst, 1))
	}
	return l
}

// Eventf records the event unless it is a Normal one over the rate.
func (l *normalEventLimiter) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...interface{}) {
	if eventtype != corev1.EventTypeNormal || l.bucket == nil || l.bucket.Allow() {
		l.EventRecorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
		return
	}
	l.skipped.Inc()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unlogged++
	if now := l.now(); now.Sub(l.logged) >= time.Minute {
		l.log.Info("Normal events skipped: they came faster than --event-qps allows; the Services' conditions hold what they would have said",
			"skipped", l.unlogged, "eventQPS", float64(l.bucket.Limit()), "eventBurst", l.bucket.Burst())
		l.unlogged, l.logged = 0, now
	}
}
