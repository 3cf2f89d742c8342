package l2

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/heraldlb/herald/internal/testenv"
)

// TestWatchLinksNetlink checks that link changes reach WatchLinks through
// rtnetlink notifications: the rescan interval is an hour, so only a
// notification can report them. It adds a veth pair with unique names and
// removes it.
func TestWatchLinksNetlink(t *testing.T) {
	testenv.RequireRoot(t)
	var b [3]byte
	rand.Read(b[:])
	name := "hl2w" + hex.EncodeToString(b[:])
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", name).Run() })

	seen := make(chan []Link, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		WatchLinks(ctx, time.Hour, ListLinks, func(ls []Link) { seen <- ls }, func(err error) { t.Errorf("watching: %v", err) })
	}()
	defer func() { cancel(); <-done }()
	<-seen // the first scan

	waitFor := func(what string, ok func(l *Link) bool) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case ls := <-seen:
				i := slices.IndexFunc(ls, func(l Link) bool { return l.Name == name })
				var l *Link
				if i >= 0 {
					l = &ls[i]
				}
				if ok(l) {
					return
				}
			case <-deadline:
				t.Fatalf("no change reported within 5s: %s", what)
			}
		}
	}
	ip("link", "add", name, "type", "veth", "peer", "name", "hl2x"+hex.EncodeToString(b[:]))
	waitFor("link added", func(l *Link) bool { return l != nil })
	ip("link", "set", name, "up")
	waitFor("link up", func(l *Link) bool { return l != nil && l.Flags&net.FlagUp != 0 })
	ip("link", "del", name)
	waitFor("link removed", func(l *Link) bool { return l == nil })
}
