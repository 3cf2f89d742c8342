package lab

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Cordon sets the Node's spec.unschedulable, as `kubectl cordon` (on) and
// `kubectl uncordon` (off) do.
func (l *Lab) Cordon(ctx context.Context, node string, on bool) error {
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, on)
	if _, err := l.client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("cordon %s=%t: %w", node, on, err)
	}
	return nil
}

// RouteSample is the next hops of a route in a namespace's kernel table at
// one instant.
type RouteSample struct {
	At   time.Time
	Hops []string // sorted; none when there is no route
}

// RouteSampler reads a route from a lab namespace's kernel table at a fixed
// interval (one `ip route show` a sample, in one shell running in the
// namespace).
type RouteSampler struct {
	cancel  context.CancelFunc
	done    chan struct{}
	samples []RouteSample
	err     error
}

// SampleRoute starts sampling the kernel route to prefix in the namespace
// of lab name (router, client, nodeN) every interval, until Stop.
func (l *Lab) SampleRoute(ctx context.Context, name, prefix string, every time.Duration) (*RouteSampler, error) {
	ctx, cancel := context.WithCancel(ctx)
	script := fmt.Sprintf("while :; do ip -o route show %s; echo .; sleep %.3f; done", prefix, every.Seconds())
	cmd, err := l.ExecCommand(ctx, name, "sh", "-c", script)
	if err != nil {
		cancel()
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("sampling %s in %s: %w", prefix, name, err)
	}
	s := &RouteSampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		var hops []string
		for sc.Scan() {
			line := sc.Text()
			if line == "." {
				slices.Sort(hops)
				s.samples = append(s.samples, RouteSample{At: time.Now(), Hops: hops})
				hops = nil
				continue
			}
			f := strings.Fields(line)
			for i := 0; i+1 < len(f); i++ {
				if f[i] == "via" {
					hops = append(hops, f[i+1])
				}
			}
		}
		_ = cmd.Wait()
	}()
	return s, nil
}

// Stop ends the sampling and returns the samples, in time order.
func (s *RouteSampler) Stop() []RouteSample {
	s.cancel()
	<-s.done
	return s.samples
}
