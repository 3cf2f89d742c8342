// Package vty runs commands on one FRR daemon over the daemon's vty unix
// socket (for example /var/run/frr/bgpd.vty), the way vtysh itself talks to
// the daemons, without starting a vtysh process per call.
//
// The protocol is FRR's "vtysh server" mode: the client writes a command
// line terminated by a NUL byte; the daemon runs it and answers with the
// command's output followed by three NUL bytes and the command's status
// (0 for success, see lib/command.h). A connection keeps its node, as an
// interactive vtysh does: after "configure terminal" the commands that
// follow are configuration commands until "end".
package vty

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// SocketPath is the vty socket of daemon in dir, the folder FRR keeps its
// sockets in: /var/run/frr, or /var/run/frr/<pathspace> for an instance
// started with -N.
func SocketPath(dir, daemon string) string { return filepath.Join(dir, daemon+".vty") }

// Conn is a connection to one daemon. It is safe for concurrent use; one
// command runs at a time.
type Conn struct {
	path string

	mu   sync.Mutex
	conn net.Conn
	buf  []byte
}

// Dial connects to the daemon's socket at path and enters enable mode.
func Dial(ctx context.Context, path string) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("connecting to FRR's vty socket %s: %w", path, err)
	}
	c := &Conn{path: path, conn: nc, buf: make([]byte, 0, 64<<10)}
	if _, err := c.Run(ctx, "enable"); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// Path is the socket the connection talks to.
func (c *Conn) Path() string { return c.path }

// CommandError is a command the daemon refused: its status is not success.
type CommandError struct {
	// Command is the line sent.
	Command string
	// Status is FRR's command status (2: unknown command, 3: ambiguous,
	// 4: incomplete, 1 or 13: the command failed).
	Status byte
	// Output is what the daemon printed, usually the reason.
	Output string
}

// Error implements error.
func (e *CommandError) Error() string {
	return fmt.Sprintf("FRR refused %q (status %d): %s", e.Command, e.Status, strings.TrimSpace(e.Output))
}

// Run sends one command and returns its output. A command the daemon
// refuses gives a *CommandError; a broken connection gives another error,
// after which the Conn is unusable (Dial again). The context's deadline, if
// any, bounds the whole exchange.
func (c *Conn) Run(ctx context.Context, command string) (string, error) {
	if strings.ContainsAny(command, "\x00\n") {
		return "", fmt.Errorf("vty command %q holds a NUL or a newline", command)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return "", fmt.Errorf("vty %s: connection closed", c.path)
	}
	nc := c.conn
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()
	deadline, _ := ctx.Deadline()
	if err := nc.SetDeadline(deadline); err != nil {
		return "", c.broken(err)
	}
	if _, err := nc.Write(append([]byte(command), 0)); err != nil {
		return "", c.broken(err)
	}
	out, status, err := c.readReply()
	if err != nil {
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		case !deadline.IsZero() && !time.Now().Before(deadline):
			err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
		}
		return "", c.broken(err)
	}
	if status != 0 {
		return out, &CommandError{Command: command, Status: status, Output: out}
	}
	return out, nil
}

// readReply reads up to the end marker: three NULs and the status byte.
func (c *Conn) readReply() (string, byte, error) {
	c.buf = c.buf[:0]
	for {
		if len(c.buf) == cap(c.buf) {
			c.buf = append(c.buf, 0)[:len(c.buf)]
		}
		n, err := c.conn.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+n]
		if out, status, ok := reply(c.buf); ok {
			return out, status, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", 0, err
		}
	}
}

// reply splits a complete answer into output and status; ok is false while
// the end marker has not arrived.
func reply(b []byte) (out string, status byte, ok bool) {
	if len(b) < 4 || !bytes.Equal(b[len(b)-4:len(b)-1], []byte{0, 0, 0}) {
		return "", 0, false
	}
	return string(b[:len(b)-4]), b[len(b)-1], true
}

func (c *Conn) broken(err error) error {
	c.conn.Close()
	c.conn = nil
	return fmt.Errorf("vty %s: %w", c.path, err)
}

// Close closes the connection.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

// Reply is the answer to one command of RunBatch.
type Reply struct {
	// Output is what the daemon printed.
	Output string
	// Err is a *CommandError when the daemon refused the command, else nil.
	Err error
}

// RunBatch sends commands in one write and reads their answers, in order.
// A daemon runs, in turn, every command of what it reads from its socket
// and queues each answer, so a batch costs one round trip rather than one
// per command. A refused command does not stop the ones after it: its
// Reply holds a *CommandError. A broken connection gives an error, after
// which the Conn is unusable (Dial again). The context's deadline, if any,
// bounds the whole exchange.
func (c *Conn) RunBatch(ctx context.Context, commands []string) ([]Reply, error) {
	var msg []byte
	for _, cmd := range commands {
		if strings.ContainsAny(cmd, "\x00\n") {
			return nil, fmt.Errorf("vty command %q holds a NUL or a newline", cmd)
		}
		msg = append(append(msg, cmd...), 0)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil, fmt.Errorf("vty %s: connection closed", c.path)
	}
	nc := c.conn
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()
	deadline, _ := ctx.Deadline()
	if err := nc.SetDeadline(deadline); err != nil {
		return nil, c.broken(err)
	}
	if _, err := nc.Write(msg); err != nil {
		return nil, c.broken(err)
	}
	replies, err := c.readReplies(commands)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		case !deadline.IsZero() && !time.Now().Before(deadline):
			err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
		}
		return replies, c.broken(err)
	}
	return replies, nil
}

// readReplies reads one answer per command: each is the output, three
// NULs and the status byte (an output holds no NUL).
func (c *Conn) readReplies(commands []string) ([]Reply, error) {
	out := make([]Reply, 0, len(commands))
	c.buf = c.buf[:0]
	start := 0
	for {
		for len(out) < len(commands) {
			i := bytes.Index(c.buf[start:], []byte{0, 0, 0})
			if i < 0 || start+i+3 >= len(c.buf) {
				break
			}
			text, status := string(c.buf[start:start+i]), c.buf[start+i+3]
			r := Reply{Output: text}
			if status != 0 {
				r.Err = &CommandError{Command: commands[len(out)], Status: status, Output: text}
			}
			out = append(out, r)
			start += i + 4
		}
		if len(out) == len(commands) {
			return out, nil
		}
		if start > 0 { // keep only what is not parsed yet
			c.buf = c.buf[:copy(c.buf, c.buf[start:])]
			start = 0
		}
		if len(c.buf) == cap(c.buf) {
			c.buf = append(c.buf, 0)[:len(c.buf)]
		}
		n, err := c.conn.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+n]
		if err != nil && n == 0 {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return out, err
		}
	}
}
