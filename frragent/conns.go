package frragent

import (
	"context"
	"errors"
	"sync"

	"github.com/heraldlb/herald/frragent/vty"
)

// vtyConns holds connections to FRR daemons' vty sockets in one folder,
// dialed when first needed and dropped when broken (the daemon restarted).
// It is safe for concurrent use.
type vtyConns struct {
	dir string

	mu    sync.Mutex
	conns map[string]*vty.Conn
}

// get returns the connection to daemon's socket, dialing it when there is
// none.
func (v *vtyConns) get(ctx context.Context, daemon string) (*vty.Conn, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c := v.conns[daemon]; c != nil {
		return c, nil
	}
	c, err := vty.Dial(ctx, vty.SocketPath(v.dir, daemon))
	if err != nil {
		return nil, err
	}
	if v.conns == nil {
		v.conns = map[string]*vty.Conn{}
	}
	v.conns[daemon] = c
	return c, nil
}

// drop forgets daemon's connection when err broke it; a refused command
// leaves it usable.
func (v *vtyConns) drop(daemon string, err error) {
	var refused *vty.CommandError
	if errors.As(err, &refused) {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if c := v.conns[daemon]; c != nil {
		c.Close()
		delete(v.conns, daemon)
	}
}

// show runs one command that changes nothing on daemon. A connection that
// broke since the last call is dialed again once: a show is safe to repeat.
func (v *vtyConns) show(ctx context.Context, daemon, command string) (string, error) {
	var err error
	for range 2 {
		var c *vty.Conn
		if c, err = v.get(ctx, daemon); err != nil {
			return "", err
		}
		var out string
		if out, err = c.Run(ctx, command); err == nil {
			return out, nil
		}
		v.drop(daemon, err)
		var refused *vty.CommandError
		if errors.As(err, &refused) || ctx.Err() != nil {
			return out, err
		}
	}
	return "", err
}
