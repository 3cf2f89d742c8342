package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frrconfig"
)

// Client talks to one frr-agent over its unix socket.
type Client struct {
	socket string
	http   *http.Client
}

// New returns a Client for the agent listening on the unix socket at path.
// It connects on each call, so the agent may start after the client.
func New(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConns: 2,
	}
	return &Client{socket: path, http: &http.Client{Transport: tr}}
}

// CloseIdleConnections closes the connections to the agent that no call
// uses: to the agent, as if this client's process had ended (the agent
// counts a speaker gone once no connection is left: Options.WithdrawAfter).
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Apply sends cfg as generation gen and waits for the agent's result. The
// error is about reaching the agent; a config FRR refused is a Result with
// Success false and its Rejected lines.
func (c *Client) Apply(ctx context.Context, gen int64, cfg *frrconfig.Config) (frragent.Result, error) {
	return c.ApplyRequest(ctx, frragent.ApplyRequest{Generation: gen, Config: cfg})
}

// ApplyRendered sends a rendered frr.conf as generation gen (applied by a
// full reload) and waits for the result.
func (c *Client) ApplyRendered(ctx context.Context, gen int64, rendered string) (frragent.Result, error) {
	return c.ApplyRequest(ctx, frragent.ApplyRequest{Generation: gen, Rendered: rendered})
}

// ApplyRequest sends req and waits for the result.
func (c *Client) ApplyRequest(ctx context.Context, req frragent.ApplyRequest) (frragent.Result, error) {
	var res frragent.Result
	body, err := json.Marshal(req)
	if err != nil {
		return res, fmt.Errorf("frr-agent client: encoding the apply request: %w", err)
	}
	err = c.do(ctx, http.MethodPost, frragent.ApplyPath, body, &res)
	return res, err
}

// State reads FRR's sessions, BFD peers and advertised prefixes.
func (c *Client) State(ctx context.Context) (frragent.State, error) {
	var st frragent.State
	err := c.do(ctx, http.MethodGet, frragent.StatePath, nil, &st)
	return st, err
}

// Health asks whether FRR's daemons answer, and the last apply's result.
func (c *Client) Health(ctx context.Context) (frragent.Health, error) {
	var h frragent.Health
	err := c.do(ctx, http.MethodGet, frragent.HealthPath, nil, &h)
	return h, err
}

// Goodbye tells the agent the speaker has withdrawn and needs it no more.
func (c *Client) Goodbye(ctx context.Context) error {
	var out struct{}
	return c.do(ctx, http.MethodPost, frragent.GoodbyePath, []byte("{}"), &out)
}

// Wait waits, at most timeout, until the speaker is done with the agent
// (see frragent.WaitOver).
func (c *Client) Wait(ctx context.Context, timeout time.Duration) (frragent.WaitResult, error) {
	var res frragent.WaitResult
	err := c.do(ctx, http.MethodGet, frragent.WaitPath+"?timeout="+url.QueryEscape(timeout.String()), nil, &res)
	return res, err
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://frr-agent"+path, rd)
	if err != nil {
		return fmt.Errorf("frr-agent client: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("frr-agent client: %s %s on %s: %w", method, path, c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("frr-agent client: %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("frr-agent client: decoding the answer to %s %s: %w", method, path, err)
	}
	return nil
}
