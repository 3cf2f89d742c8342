package speaker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/frrconfig"
)

// applyOutcome is one finished apply, handed by the apply goroutine to
// Run's, which records it for the NodeState.
type applyOutcome struct {
	// cfg is the config given to the agent.
	cfg *frrconfig.Config
	// status is the NodeState's account of the apply.
	status *v1beta1.FRRConfigStatus
	// final is false when the apply failed in a way worth retrying (the
	// agent could not be reached, or FRR could not be driven); an applied
	// or a rejected config is final.
	final bool
}

// sameConfig reports whether two configs are the same model.
func sameConfig(a, b *frrconfig.Config) bool { return reflect.DeepEqual(*a, *b) }

// offer hands cfg to the apply goroutine: it replaces a config that has not
// started, and is applied as soon as the apply in flight, if any, ends. It
// never blocks. cfg must not be modified afterwards.
func (s *Speaker) offer(cfg *frrconfig.Config) {
	s.queueMu.Lock()
	idle := s.queue.offer(cfg)
	s.queueMu.Unlock()
	if !idle {
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// applyLoop applies what offer hands it, one config at a time, the latest
// first, and tries a failed apply again after a backoff (RetryInterval,
// doubling up to maxRetryInterval) unless a newer config came. Each outcome
// goes to Run's goroutine. It ends with ctx; an apply in flight then sees
// ctx cancelled.
func (s *Speaker) applyLoop(ctx context.Context) {
	var retry <-chan time.Time
	for {
		next := s.queue.start
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-retry:
			retry = nil
			next = s.queue.retryDue
		}
		for {
			s.queueMu.Lock()
			cfg, ok := next()
			s.queueMu.Unlock()
			if !ok {
				break
			}
			next = s.queue.start
			o := s.applyOnce(ctx, cfg)
			select {
			case s.outcomes <- o:
			case <-ctx.Done():
				return
			}
			s.queueMu.Lock()
			in := s.queue.done(o.final)
			s.queueMu.Unlock()
			if in > 0 {
				s.cfg.Log.V(1).Info("retrying the FRR apply", "in", in, "generation", o.status.Generation)
				retry = time.After(in)
			}
		}
	}
}

// applyOnce gives cfg to the agent under a new generation and returns the
// outcome. It touches no state of Run's goroutine: the apply goroutine and,
// on shutdown, Run call it.
func (s *Speaker) applyOnce(ctx context.Context, cfg *frrconfig.Config) applyOutcome {
	log := s.cfg.Log
	gen := s.gen.Add(1)
	prefixes := 0
	for _, r := range cfg.Routers {
		prefixes += len(r.IPv4Networks) + len(r.IPv6Networks)
	}
	start := time.Now()
	res, err := s.cfg.Agent.Apply(ctx, gen, cfg)
	took := time.Since(start)
	st := &v1beta1.FRRConfigStatus{Generation: gen, Time: metav1.Now()}
	final := true
	if err != nil {
		st.Hash = configHash(cfg)
		st.Result = v1beta1.FRRFailed
		st.Message = redact(cfg, err.Error())
		final = false
		s.count("apply")
		log.Error(errors.New(st.Message), "applying the FRR config", "generation", gen)
	} else {
		st.Result, st.Method, st.Message = res.Result, res.Method, redact(cfg, res.Message)
		// The agent hashes the text it rendered: rendering the whole
		// config again here only for an agent that did not say.
		st.Hash = res.Hash
		if st.Hash == "" {
			st.Hash = configHash(cfg)
		}
		st.RunningHash = res.RunningHash
		if len(res.SessionResets) > 0 {
			st.SessionResets = res.SessionResets[:min(len(res.SessionResets), 100)]
			log.Info("the FRR config reset BGP sessions", "generation", gen, "sessions", st.SessionResets)
			s.event(corev1.EventTypeWarning, "BGPSessionReset", "the new FRR config reset %d BGP session(s): %s",
				len(res.SessionResets), strings.Join(st.SessionResets, "; "))
		}
		if res.Duration > 0 {
			took = res.Duration
		}
		st.Duration = &metav1.Duration{Duration: took.Round(time.Microsecond)}
		for _, l := range res.Rejected {
			st.RejectedLines = append(st.RejectedLines, redact(cfg, rejectedLine(l.Line, l.Text, l.Error)))
		}
		switch res.Result {
		case v1beta1.FRRApplied:
			if st.RunningHash == "" {
				st.RunningHash = st.Hash
			}
			log.Info("applied the FRR config", "generation", gen, "method", res.Method, "duration", took, "prefixes", prefixes)
		case v1beta1.FRRRejected:
			log.Info("FRR rejected the config; the last good one keeps running", "generation", gen, "rejected", st.RejectedLines)
		default:
			final = false
			log.Info("the FRR config could not be applied", "generation", gen, "result", res.Result, "message", st.Message)
		}
	}
	if m := s.cfg.Metrics; m != nil {
		m.applied(string(st.Result))
		m.generation.Set(float64(gen))
		if st.Result == v1beta1.FRRApplied {
			m.announced.WithLabelValues("bgp").Set(float64(prefixes))
		}
	}
	return applyOutcome{cfg: cfg, status: st, final: final}
}

// record takes an outcome into Run's state: the NodeState reports the
// newest generation (an invalid plan reported meanwhile is newer than an
// apply that was in flight), as Progressing when it is a step of a
// rollout (stepApplied, which asks for the next step), and FRR's state is
// read again soon.
func (s *Speaker) record(o applyOutcome) {
	if o.status.Result == v1beta1.FRRApplied {
		if m := s.cfg.Metrics; m != nil {
			m.prefixesChanged(s.applied, o.cfg)
		}
		s.applied = o.cfg
		s.drainApplied(o.cfg, time.Now())
	}
	s.stepApplied(&o)
	if s.frr == nil || o.status.Generation >= s.frr.Generation {
		s.frr = o.status
		s.setLastApply(o.status)
	}
	s.followUps = followUpDelays[:]
}

// redact replaces the config's passwords in text (the agent's messages
// and rejected lines can quote frr.conf) so that no password reaches a log
// or the NodeState.
func redact(cfg *frrconfig.Config, text string) string {
	for _, r := range cfg.Routers {
		for _, n := range r.Neighbors {
			if n.Password != "" {
				text = strings.ReplaceAll(text, n.Password, "<redacted>")
			}
		}
	}
	return text
}

func rejectedLine(line int, text, msg string) string {
	if line > 0 {
		return fmt.Sprintf("line %d: %s: %s", line, text, msg)
	}
	if text != "" {
		return text + ": " + msg
	}
	return msg
}

// Withdrawn returns cfg with every prefix removed: the same peers and
// profiles, nothing announced (frrconfig.Withdrawn).
func Withdrawn(cfg *frrconfig.Config) frrconfig.Config { return frrconfig.Withdrawn(cfg) }

// configHash is the hex SHA-256 of the rendered config.
func configHash(cfg *frrconfig.Config) string {
	text, err := frrconfig.Render(cfg)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(text)
	return hex.EncodeToString(sum[:])
}
