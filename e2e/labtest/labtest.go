package labtest

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"

	"github.com/heraldlb/herald/e2e/lab"
	"github.com/heraldlb/herald/internal/testenv"
)

// Timeout bounds Up and the Down at the end of a test, the wait for the
// machine's lab lock included: e2e packages take turns on the one lab.
const Timeout = 20 * time.Minute

// Up brings the machine's lab up for t (see lab.Up) and takes it down when
// t and its subtests end, even on failure. It stops the test unless root,
// FRR and the test control plane are there (testenv). Empty options take
// the test control plane from testenv and log the lab's progress to t.
// Up waits while another test process holds the lab.
//
// A lab someone owns (Options.Owner: made by `herald lab up`, or kept by a
// tool) is used as it is and left up; `herald lab down` first for a fresh one.
func Up(t testing.TB, opts lab.Options) *lab.Lab {
	t.Helper()
	testenv.RequireFRR(t)
	if st, up := lab.Existing(opts); up && st.Owner != "" {
		l, err := lab.Open(opts)
		if err != nil {
			t.Fatalf("using the lab %q made: %v", st.Owner, err)
		}
		t.Logf("using the lab %q made in %s, and leaving it up", st.Owner, l.Dir())
		return l
	}
	if opts.ControlPlaneDir == "" {
		opts.ControlPlaneDir = testenv.ControlPlane(t)
	}
	if opts.Log.GetSink() == nil {
		opts.Log = funcr.New(func(_, args string) { t.Log("lab: " + args) }, funcr.Options{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	start := time.Now()
	l, err := lab.Up(ctx, opts)
	if err != nil {
		// What was made stays for the next Up, which repairs or rebuilds
		// it: tearing it down here, without the lock, could hit the lab
		// of the test process that got the lock meanwhile.
		t.Fatalf("lab up: %v", err)
	}
	t.Logf("lab up in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := l.Down(ctx); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	return l
}

// RequireComponents stops the test unless the lab runs each of herald's
// components named (lab.Controller, lab.Speaker, lab.FRRAgent): under
// CI=true it fails, elsewhere it skips, saying which is missing and why.
func RequireComponents(t testing.TB, l *lab.Lab, names ...string) {
	t.Helper()
	for _, n := range names {
		found := false
		for _, c := range l.Components() {
			if c.Name != n {
				continue
			}
			found = true
			if !c.Built {
				missing(t, "herald %s is not running in the lab: %s", n, c.Missing)
			}
		}
		if !found {
			missing(t, "herald %s is not running in the lab (Options.NoHerald, or not probed)", n)
		}
	}
}

// RequireOwnLab stops the test when a lab someone owns (Options.Owner: made
// by `herald lab up`, or kept by a tool) is up: tests that take the lab down
// or crash it must not touch it.
func RequireOwnLab(t testing.TB) {
	t.Helper()
	if st, up := lab.Existing(lab.Options{}); up && st.Owner != "" {
		missing(t, "a lab owned by %q runs on this machine; `herald lab down` first (this test takes the lab down)", st.Owner)
	}
}

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if testenv.InCI() {
		t.Fatalf("CI=true and this test cannot run: "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}
