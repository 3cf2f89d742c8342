package lab

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/heraldlb/herald/internal/frrproc"
)

// KillFRRDaemon kills daemon (bgpd, bfdd, zebra, ...) of the FRR of lab
// name (router or nodeN) with SIGKILL, as a crash would: the instance's
// watchfrr restarts it. It returns the killed process id.
func (l *Lab) KillFRRDaemon(name, daemon string) (int, error) {
	ps, err := l.plan.FRRName(name)
	if err != nil {
		return 0, err
	}
	return frrproc.KillDaemon(ps, daemon)
}

// KillComponent kills the supervised component name (lab.Speaker +
// "/node1", lab.FRRAgent + "/node2", lab.Controller) with SIGKILL, as a
// crash or the OOM killer would: its supervisor starts it again after its
// backoff. It returns what the supervisor said before the kill.
func (l *Lab) KillComponent(name string) (SupervisorStatus, error) {
	before, err := l.Supervisor(name)
	if err != nil {
		return before, err
	}
	if before.PID == 0 {
		return before, fmt.Errorf("lab: %s is not running (its supervisor waits to restart it at %s)", name, before.NextStart.Format(time.RFC3339))
	}
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		return before, fmt.Errorf("lab: killing %s (pid %d): %w", name, before.PID, err)
	}
	return before, nil
}

// StopAPIServer stops the lab's API server (SIGTERM, SIGKILL after 10 s),
// as a control-plane outage would; etcd and everything else keep running.
// StartAPIServer brings it back.
func (l *Lab) StopAPIServer(ctx context.Context) error {
	p, ok := l.Procs()["kube-apiserver"]
	if !ok {
		return fmt.Errorf("lab: no API server process tracked in %s", l.opts.Dir)
	}
	if err := killAll(ctx, 10*time.Second, func() []int { return livePIDs([]int{p.PID}) }); err != nil {
		return fmt.Errorf("lab: stopping the API server (pid %d): %w", p.PID, err)
	}
	return nil
}

// StartAPIServer starts the lab's API server again after StopAPIServer,
// with the same command line, and returns once it answers /readyz.
func (l *Lab) StartAPIServer(ctx context.Context) error {
	// A killed API server may hold its port a while.
	addr := net.JoinHostPort(MgmtAddr.String(), strconv.Itoa(APIServerPort))
	if err := waitPortFree(ctx, addr, nil); err != nil {
		return err
	}
	keys := pki{dir: filepath.Join(l.opts.Dir, "pki")}
	api, _, err := l.keepOrStart("kube-apiserver", "", nil, apiServerArgs(filepath.Join(l.opts.ControlPlaneDir, "kube-apiserver"), keys))
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return waitAPIServer(waitCtx, l.client, aliveCheck(api))
}
