package vty

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReply(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		out    string
		status byte
		ok     bool
	}{
		{"empty", "", "", 0, false},
		{"marker only", "\x00\x00\x00\x00", "", 0, true},
		{"output and success", "hello\n\x00\x00\x00\x00", "hello\n", 0, true},
		{"refused", "% Unknown command\n\x00\x00\x00\x02", "% Unknown command\n", 2, true},
		{"status byte not yet here", "hello\x00\x00\x00", "", 0, false},
		{"two NULs", "hello\x00\x00", "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, status, ok := reply([]byte(tc.in))
			if out != tc.out || status != tc.status || ok != tc.ok {
				t.Errorf("reply(%q) = %q, %d, %v; want %q, %d, %v", tc.in, out, status, ok, tc.out, tc.status, tc.ok)
			}
		})
	}
}

// daemon is a unix-socket peer speaking the daemon side of the protocol:
// it answers each command with answer(command), written in pieces.
func daemon(t *testing.T, answer func(cmd string) string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bgpd.vty")
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
				var pending []byte
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					pending = append(pending, buf[:n]...)
					for {
						i := strings.IndexByte(string(pending), 0)
						if i < 0 {
							break
						}
						cmd := string(pending[:i])
						pending = pending[i+1:]
						a := []byte(answer(cmd))
						for len(a) > 0 { // in pieces of 3 bytes, to split the marker
							k := min(3, len(a))
							if _, err := c.Write(a[:k]); err != nil {
								return
							}
							a = a[k:]
						}
					}
				}
			}()
		}
	}()
	return path
}

func TestConn(t *testing.T) {
	big := strings.Repeat("network 2001:db8::1/128\n", 10000)
	path := daemon(t, func(cmd string) string {
		switch cmd {
		case "enable", "configure terminal":
			return "\x00\x00\x00\x00"
		case "show running-config":
			return big + "\x00\x00\x00\x00"
		case "hang":
			return ""
		}
		return "% Unknown command: " + cmd + "\n\x00\x00\x00\x02"
	})
	ctx := context.Background()
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if out, err := c.Run(ctx, "show running-config"); err != nil || out != big {
		t.Fatalf("Run(show running-config) = %d bytes, %v; want %d bytes", len(out), err, len(big))
	}
	_, err = c.Run(ctx, "netwrok 1")
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Status != 2 || !strings.Contains(ce.Output, "Unknown command") {
		t.Fatalf("Run(bad command) error = %v; want a *CommandError with status 2", err)
	}
	if _, err := c.Run(ctx, "configure terminal"); err != nil {
		t.Fatalf("a refused command broke the connection: %v", err)
	}
	if _, err := c.Run(ctx, "a\nb"); err == nil {
		t.Fatal("Run accepted a command holding a newline")
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.Run(short, "hang"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run(hang) error = %v; want the context's deadline", err)
	}
	if _, err := c.Run(ctx, "configure terminal"); err == nil {
		t.Fatal("Run worked on a connection broken by a timeout")
	}
}

func TestDialNoDaemon(t *testing.T) {
	_, err := Dial(context.Background(), filepath.Join(t.TempDir(), "bgpd.vty"))
	if err == nil || !strings.Contains(err.Error(), "bgpd.vty") {
		t.Fatalf("Dial(missing socket) = %v; want an error naming the socket", err)
	}
}
