package frragent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/heraldlb/herald/frragent/vty"
	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/frrconfig"
)

// DefaultBatchSize bounds the configuration commands sent to a daemon in
// a row (Options.BatchSize). Between two batches the agent pauses as long
// as the daemon spent CPU on the batch (as long as the batch took when the
// daemon's CPU time cannot be read), so that however large a change (a
// thousand neighbors are several thousand commands), bgpd keeps at least
// half of its time for its sessions' keepalives and updates, and the
// machine's CPU for bfdd; a batch that cost the daemon little (the time
// went in round trips on a busy machine) is not slowed down further.
const DefaultBatchSize = 100

// maxPause bounds one pause between batches.
const maxPause = 200 * time.Millisecond

// batchTimeout bounds one batch's round trip: a daemon that stops
// answering makes the apply fail (and the connection be dialed again)
// rather than hold the agent's apply lock for ever.
const batchTimeout = 60 * time.Second

// batchSizeFor returns how many commands may go to daemon in one write.
// mgmtd (FRR 10) takes one: its vtysh_read stops at a command it hands to
// its own back-ends, answers it when they reply, and drops whatever else
// that read held (lib/vty.c, "counting on vtysh not sending us more than
// 1 command line before waiting on the reply"), so a batch waited for ever
// for the answers to route-map commands mgmtd never ran.
func batchSizeFor(daemon string, size int) int {
	if daemon == "mgmtd" {
		return 1
	}
	return size
}

// runCollect runs configuration commands on one daemon's vty socket,
// between `configure terminal` and `end`, in batches of Options.BatchSize,
// each sent in one write (vty.Conn.RunBatch: one round trip per batch,
// not per command), with a pause after each. A command the daemon refuses
// does not stop the others: it is returned with the daemon's own message
// (Text is the command, Line is 0). Only a connection that fails, or ctx, stops it, with an error. A
// connection that broke since the last apply (the daemon restarted) is
// dialed again once, before any command ran.
func (a *Agent) runCollect(ctx context.Context, daemon string, cmds []string) ([]vtysh.RejectedLine, error) {
	c, err := a.conns.get(ctx, daemon)
	if err != nil {
		return nil, err
	}
	if _, err := c.Run(ctx, "configure terminal"); err != nil {
		a.conns.drop(daemon, err)
		var refused *vty.CommandError
		if errors.As(err, &refused) {
			return nil, err
		}
		if c, err = a.conns.get(ctx, daemon); err != nil {
			return nil, err
		}
		if _, err := c.Run(ctx, "configure terminal"); err != nil {
			a.conns.drop(daemon, err)
			return nil, err
		}
	}
	var refusedLines []vtysh.RejectedLine
	var cost time.Duration // the last batch's cost to the daemon
	size := batchSizeFor(daemon, a.batchSize)
	for start := 0; start < len(cmds); start += size {
		if start > 0 {
			if err := pause(ctx, cost); err != nil {
				return refusedLines, errors.Join(fmt.Errorf("%s: %w", daemon, err), a.end(daemon, c))
			}
		}
		batch := cmds[start:min(start+size, len(cmds))]
		began := time.Now()
		cpuStart, cpuKnown := a.daemonCPU(daemon)
		bctx, cancel := context.WithTimeout(ctx, batchTimeout)
		replies, err := c.RunBatch(bctx, batch)
		cancel()
		if err != nil {
			a.conns.drop(daemon, err)
			return refusedLines, fmt.Errorf("%s: %w", daemon, err)
		}
		for i, r := range replies {
			var refused *vty.CommandError
			if errors.As(r.Err, &refused) {
				refusedLines = append(refusedLines, vtysh.RejectedLine{Text: batch[i], Error: reason(refused.Output, refused.Status)})
			}
		}
		cost = time.Since(began)
		if cpu, ok := a.daemonCPU(daemon); ok && cpuKnown {
			cost = cpu - cpuStart
		}
	}
	if err := a.end(daemon, c); err != nil {
		return refusedLines, fmt.Errorf("%s: %w", daemon, err)
	}
	return refusedLines, nil
}

// end leaves configuration mode.
func (a *Agent) end(daemon string, c *vty.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Run(ctx, "end"); err != nil {
		a.conns.drop(daemon, err)
		return err
	}
	return nil
}

// daemonCPU returns the CPU time (user and system) the daemon has used,
// read from /proc through its pid file in the vty folder; false when it
// cannot be read (no vty folder, another pid namespace).
func (a *Agent) daemonCPU(daemon string) (time.Duration, bool) {
	if a.vtyDir == "" {
		return 0, false
	}
	b, err := os.ReadFile(filepath.Join(a.vtyDir, daemon+".pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	return parseCPU(string(stat))
}

// parseCPU reads utime and stime (fields 14 and 15, in USER_HZ, 100 a
// second on Linux) from a /proc/PID/stat line.
func parseCPU(stat string) (time.Duration, bool) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, false
	}
	f := strings.Fields(stat[end+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * 10 * time.Millisecond, true
}

// pause waits for took (at most maxPause), or until ctx ends.
func pause(ctx context.Context, took time.Duration) error {
	t := time.NewTimer(min(took, maxPause))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reason is FRR's message for a refused command, on one line; FRR says
// nothing for some statuses, so those get its status's meaning.
func reason(out string, status byte) string {
	msg := strings.Join(strings.Fields(out), " ")
	if msg != "" {
		return msg
	}
	switch status {
	case 2:
		return "% Unknown command"
	case 3:
		return "% Ambiguous command"
	case 4:
		return "% Command incomplete"
	}
	return fmt.Sprintf("FRR refused the command (status %d)", status)
}

// rootRefusals keeps, of the commands FRR refused, those that are not a
// mere consequence of an earlier refusal: once a neighbor's first line
// was refused (say "neighbor X remote-as": "% Can not configure the
// local system as neighbor"), FRR refuses its later lines for want of
// the neighbor ("% Specify remote-as or peer-group commands first"),
// which says nothing more; and a line reported more than once (frr-reload.py
// tries lines again) is kept once. It numbers the lines as in text, the
// rendered file.
func rootRefusals(refused []vtysh.RejectedLine, text []byte) []vtysh.RejectedLine {
	lines := strings.Split(string(text), "\n")
	seen := map[string]bool{}
	var out []vtysh.RejectedLine
	for _, r := range refused {
		if seen["line "+r.Text] {
			continue // frr-reload.py tries a line more than once
		}
		seen["line "+r.Text] = true
		if f := strings.Fields(r.Text); len(f) > 1 && f[0] == "neighbor" {
			if seen[f[1]] {
				continue
			}
			seen[f[1]] = true
		}
		r.Line = lineOf(lines, r.Text)
		out = append(out, r)
	}
	return out
}

// rollBack takes FRR from a partly applied next back to last, the config
// that ran before, with the commands of the difference next → last (run
// whatever FRR refuses: lines of next it never took), then checks that
// bgpd (and bfdd, when touched) run last again. The lines the two configs
// share are never touched, so the prefixes last announced stay announced
// throughout. A false result means FRR does not run last: reload it.
func (a *Agent) rollBack(ctx context.Context, last, next *applied) (bool, string) {
	if last.plan == nil || next.plan == nil || a.vtyDir == "" {
		return false, "no model to diff, or no vty socket"
	}
	cmds, err := frrconfig.DiffPlans(next.plan, last.plan)
	if err != nil {
		return false, err.Error()
	}
	for _, c := range cmds {
		if c == "bfd" || strings.HasPrefix(c, "log ") {
			return false, "the difference touches more than bgpd"
		}
	}
	if _, err := a.runCollect(ctx, "bgpd", cmds); err != nil {
		return false, err.Error()
	}
	if rm := routeMapCommands(cmds); len(rm) > 0 {
		if _, err := a.runCollect(ctx, a.routeMapDaemon(), rm); err != nil {
			return false, err.Error()
		}
	}
	ok, why, err := a.verify(ctx, last.norm)
	if err != nil {
		return false, err.Error()
	}
	return ok, why
}

// refusedIncremental reports the commands FRR refused during an
// incremental apply, each with FRR's own reason, and puts last back: by
// the inverse difference (rollBack), which leaves what both configs share
// untouched, else by a full reload.
func (a *Agent) refusedIncremental(ctx context.Context, last, next *applied, refused []vtysh.RejectedLine, res *Result, t *time.Time) {
	res.Rejected = rootRefusals(refused, next.text)
	res.Rendered = string(next.text)
	res.Error = fmt.Sprintf("FRR refused %d line(s) of the config; the last good config (generation %d) keeps running", len(res.Rejected), last.gen)
	ok, why := a.rollBack(ctx, last, next)
	phase(res, "rollback", t)
	if ok {
		return
	}
	a.log.Info("rolling back the refused commands did not give the last good config, reloading it", "generation", last.gen, "why", why)
	a.restore(ctx, last)
	phase(res, "restore", t)
}
