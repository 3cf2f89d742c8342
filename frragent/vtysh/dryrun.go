package vtysh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
)

// DryRun checks configuration text with vtysh's dry run (`vtysh -C -f
// /dev/stdin`): vtysh parses every line with FRR's own command tree and
// changes nothing. Starting vtysh costs tens of milliseconds (it builds the
// command tree of every daemon), so a DryRun keeps one vtysh started ahead
// of need, waiting on its standard input: a check only feeds it the text
// and reads the verdict, and another vtysh starts in its place. Two wait,
// so that checks in quick succession do not wait for a vtysh still
// starting.
//
// A DryRun is safe for concurrent use; checks run one at a time.
type DryRun struct {
	binary string
	args   []string

	mu     sync.Mutex
	ready  []*dryRunProc // started ahead, oldest first
	closed bool
}

// dryRunsAhead is how many vtysh wait for a check.
const dryRunsAhead = 2

type dryRunProc struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	stdout, stderr bytes.Buffer
	startErr       error
}

// NewDryRun returns a DryRun for the vtysh binary (a path, or a name looked
// up in PATH), with `-N pathspace` when pathspace is not empty, and starts
// the first vtysh.
func NewDryRun(binary, pathspace string) *DryRun {
	d := &DryRun{binary: binary}
	if pathspace != "" {
		d.args = []string{"-N", pathspace}
	}
	d.args = append(d.args, "-C", "-f", "/dev/stdin")
	for range dryRunsAhead {
		d.ready = append(d.ready, d.start())
	}
	return d
}

func (d *DryRun) start() *dryRunProc {
	p := &dryRunProc{cmd: exec.Command(d.binary, d.args...)}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if p.stdin, p.startErr = p.cmd.StdinPipe(); p.startErr == nil {
		p.startErr = p.cmd.Start()
	}
	return p
}

// refill starts one vtysh and adds it to those waiting, or stops it when
// the DryRun was closed meanwhile.
func (d *DryRun) refill() {
	p := d.start()
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.ready = append(d.ready, p)
		return
	}
	if p.startErr == nil {
		_ = p.stdin.Close()
		_ = p.cmd.Wait()
	}
}

// Check runs the dry run on text and returns what vtysh printed. When vtysh
// refuses a line, the error is an *Error holding both outputs, as Func's
// (ParseRejected reads the refused lines from them).
func (d *DryRun) Check(ctx context.Context, text []byte) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return "", errors.New("vtysh dry run: checked after Close")
	}
	var p *dryRunProc
	if len(d.ready) > 0 {
		p, d.ready = d.ready[0], d.ready[1:]
	} else {
		p = d.start()
	}
	go d.refill() // another vtysh starts while this one checks
	args := d.args[len(d.args)-3:]
	if p.startErr != nil {
		return "", &Error{Args: args, Err: fmt.Errorf("starting %s: %w", d.binary, p.startErr)}
	}
	stop := context.AfterFunc(ctx, func() { _ = p.cmd.Process.Kill() })
	defer stop()
	_, werr := p.stdin.Write(text)
	cerr := p.stdin.Close()
	err := p.cmd.Wait()
	if err == nil && werr != nil {
		err = werr
	}
	if err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return p.stdout.String(), &Error{Args: args, Stdout: p.stdout.String(), Stderr: p.stderr.String(), Err: err}
	}
	return p.stdout.String(), nil
}

// Close stops the vtysh started ahead.
func (d *DryRun) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.ready {
		if p.startErr == nil {
			_ = p.stdin.Close() // vtysh reads an empty file and exits
			_ = p.cmd.Wait()
		}
	}
	d.ready, d.closed = nil, true
	return nil
}
