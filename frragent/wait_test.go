package frragent_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldlb/herald/frragent"
	"github.com/heraldlb/herald/frragent/client"
)

func TestWaitOver(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		goodbye   bool
		others    int
		lastOther time.Time
		want      bool
	}{
		{"goodbye, speaker still connected", true, 1, now, true},
		{"goodbye, speaker gone", true, 0, now.Add(-time.Hour), true},
		{"speaker connected, withdrawing", false, 1, now.Add(-time.Hour), false},
		{"two clients connected", false, 2, now.Add(-time.Hour), false},
		{"speaker just left without goodbye", false, 0, now.Add(-time.Second), false},
		{"speaker gone for longer than quiet", false, 0, now.Add(-3 * time.Second), true},
		{"speaker gone exactly quiet ago", false, 0, now.Add(-2 * time.Second), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, why := frragent.WaitOver(tc.goodbye, tc.others, tc.lastOther, now, 2*time.Second)
			if got != tc.want {
				t.Errorf("WaitOver = %v (%q), want %v", got, why, tc.want)
			}
			if got && why == "" {
				t.Error("WaitOver gave no reason")
			}
		})
	}
}

// serve runs an agent on a socket in a temporary folder, with no FRR
// behind it: these tests are about the agent's own API.
func serve(t *testing.T, opts frragent.Options) (string, *frragent.Agent) {
	t.Helper()
	dir := t.TempDir()
	opts.Vtysh = func(context.Context, ...string) (string, error) { return "", errors.New("no FRR in this test") }
	opts.Reload = func(context.Context, string) (string, error) { return "", errors.New("no FRR in this test") }
	opts.ConfigPath = filepath.Join(dir, "frr.conf")
	a, err := frragent.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "frr-agent.sock")
	l, err := frragent.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return sock, a
}

type waited struct {
	res frragent.WaitResult
	err error
	at  time.Time
}

func startWait(sock string, timeout time.Duration) <-chan waited {
	ch := make(chan waited, 1)
	go func() {
		res, err := client.New(sock).Wait(context.Background(), timeout)
		ch <- waited{res, err, time.Now()}
	}()
	return ch
}

// TestWaitForSpeaker is the FRR container's preStop wait against a real
// agent server: it lasts while the speaker is connected, and ends when the
// speaker says goodbye, or when it goes away, or at its timeout.
func TestWaitForSpeaker(t *testing.T) {
	t.Run("goodbye", func(t *testing.T) {
		sock, _ := serve(t, frragent.Options{})
		speaker := client.New(sock)
		if _, err := speaker.Health(context.Background()); err != nil { // the speaker's connection
			t.Fatal(err)
		}
		ch := startWait(sock, 20*time.Second)
		select {
		case w := <-ch:
			t.Fatalf("the wait ended while the speaker was connected: %+v", w)
		case <-time.After(3 * time.Second):
		}
		said := time.Now()
		if err := speaker.Goodbye(context.Background()); err != nil {
			t.Fatal(err)
		}
		w := <-ch
		if w.err != nil || !w.res.Over || !strings.Contains(w.res.Reason, "goodbye") {
			t.Fatalf("wait = %+v, %v; want over after the goodbye", w.res, w.err)
		}
		if d := w.at.Sub(said); d > time.Second {
			t.Errorf("the wait ended %s after the goodbye, want at once", d)
		}
	})
	t.Run("speaker gone", func(t *testing.T) {
		sock, _ := serve(t, frragent.Options{})
		var d net.Dialer
		conn, err := d.DialContext(context.Background(), "unix", sock) // a speaker with an open connection
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond) // longer than the quiet period since the agent started
		ch := startWait(sock, 20*time.Second)
		select {
		case w := <-ch:
			t.Fatalf("the wait ended while the speaker was connected: %+v", w)
		case <-time.After(time.Second):
		}
		gone := time.Now()
		conn.Close()
		w := <-ch
		if w.err != nil || !w.res.Over || !strings.Contains(w.res.Reason, "no speaker") {
			t.Fatalf("wait = %+v, %v; want over once no speaker is connected", w.res, w.err)
		}
		if d := w.at.Sub(gone); d < 2*time.Second || d > 4*time.Second {
			t.Errorf("the wait ended %s after the speaker left, want after the 2s quiet period", d)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		sock, _ := serve(t, frragent.Options{})
		var d net.Dialer
		conn, err := d.DialContext(context.Background(), "unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		w := <-startWait(sock, time.Second)
		if w.err != nil || w.res.Over {
			t.Fatalf("wait = %+v, %v; want not over at the timeout", w.res, w.err)
		}
		if d := w.at.Sub(start); d < time.Second || d > 3*time.Second {
			t.Errorf("the wait took %s, want its 1s timeout", d)
		}
	})
	t.Run("bad timeout", func(t *testing.T) {
		sock, _ := serve(t, frragent.Options{})
		_, err := client.New(sock).Wait(context.Background(), time.Hour)
		if err == nil || !strings.Contains(err.Error(), http.StatusText(http.StatusBadRequest)) {
			t.Errorf("Wait(1h) = %v, want a 400 naming the limit", err)
		}
	})
}

// vtyDaemon answers every command on a vty socket at path with success, as
// an FRR daemon does.
func vtyDaemon(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					for range strings.Count(string(buf[:n]), "\x00") {
						if _, err := c.Write([]byte("ok\x00\x00\x00\x00")); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
}

// TestHealth checks the daemons' vty sockets: those answering are up, the
// others down with the reason. (The real-FRR test checks real daemons.)
func TestHealth(t *testing.T) {
	vtyDir := t.TempDir()
	vtyDaemon(t, filepath.Join(vtyDir, "zebra.vty"))
	vtyDaemon(t, filepath.Join(vtyDir, "bgpd.vty"))
	// bfdd left a socket file behind and died: connecting is refused.
	dead, err := net.Listen("unix", filepath.Join(vtyDir, "bfdd.vty"))
	if err != nil {
		t.Fatal(err)
	}
	dead.(*net.UnixListener).SetUnlinkOnClose(false)
	dead.Close()
	sock, _ := serve(t, frragent.Options{VtyDir: vtyDir})
	h, err := client.New(sock).Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var up []string
	for _, d := range h.Daemons {
		if d.Up {
			up = append(up, d.Name)
		} else if d.Error == "" {
			t.Errorf("%s is down with no reason", d.Name)
		}
	}
	if diff := cmp.Diff([]string{"zebra", "bgpd"}, up); diff != "" {
		t.Errorf("daemons up (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"bfdd", "staticd"}, h.Down()); diff != "" {
		t.Errorf("Down() (-want +got):\n%s", diff)
	}
	if h.LastApply != nil {
		t.Errorf("LastApply = %+v before any apply", h.LastApply)
	}
}

// TestListenOwned gives the socket to another user (the speaker's) with a
// mode letting it connect.
func TestListenOwned(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "frr-agent.sock")
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		uid, gid = 65532, 65532
	}
	l, err := frragent.ListenOwned(sock, frragent.SocketOwner{Mode: 0o660, UID: uid, GID: gid})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("mode %v, want 0660", fi.Mode().Perm())
	}
	if uid != -1 {
		st := statOwner(t, fi)
		if st != [2]int{65532, 65532} {
			t.Errorf("owner %v, want 65532:65532", st)
		}
	}
	// A file in the way that is not a socket is refused, not removed.
	other := filepath.Join(dir, "not-a-socket")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := frragent.ListenOwned(other, frragent.SocketOwner{Mode: 0o660, UID: -1, GID: -1}); err == nil {
		t.Error("ListenOwned over a regular file succeeded")
	}
}

func TestParseSocketOwner(t *testing.T) {
	tests := []struct {
		in       string
		uid, gid int
		wantErr  bool
	}{
		{"", -1, -1, false},
		{"65532:65532", 65532, 65532, false},
		{"0:65532", 0, 65532, false},
		{"65532", 65532, -1, false},
		{"nobody:nogroup", -1, -1, true},
		{"65532:", -1, -1, true},
		{"-1:5", -1, -1, true},
		{":5", -1, -1, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			uid, gid, err := frragent.ParseSocketOwner(tc.in)
			if (err != nil) != tc.wantErr || uid != tc.uid || gid != tc.gid {
				t.Errorf("ParseSocketOwner(%q) = %d, %d, %v; want %d, %d, error %v", tc.in, uid, gid, err, tc.uid, tc.gid, tc.wantErr)
			}
		})
	}
}
