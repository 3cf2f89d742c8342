package l2

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// WatchLinks calls changed with the interfaces of the current network
// namespace at start and whenever they change (appear, disappear, go up or
// down, change MAC), until ctx is cancelled. It rescans on every rtnetlink
// link or address notification, and every interval in any case, so a
// missed notification costs at most interval. list is ListLinks outside
// tests.
func WatchLinks(ctx context.Context, interval time.Duration, list func() ([]Link, error), changed func([]Link), errf func(error)) {
	wake := make(chan struct{}, 1)
	if f, err := subscribeLinks(); err != nil {
		errf(err)
	} else {
		done := make(chan struct{})
		go func() { defer close(done); readNotifications(f, wake) }()
		defer func() { f.Close(); <-done }()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var prev []Link
	first := true
	for {
		links, err := list()
		if err != nil {
			errf(err)
		} else if first || !sameLinks(prev, links) {
			first = false
			prev = links
			changed(links)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}

// subscribeLinks opens a non-blocking rtnetlink socket subscribed to link
// and address changes, as an *os.File so that Close interrupts a Read.
func subscribeLinks() (*os.File, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("opening rtnetlink socket: %w", err)
	}
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("subscribing to link changes: %w", err)
	}
	return os.NewFile(uintptr(fd), "rtnetlink"), nil
}

// readNotifications signals wake on every notification read from f until f
// is closed. A full socket buffer (ENOBUFS) also wakes: something changed.
func readNotifications(f *os.File, wake chan<- struct{}) {
	buf := make([]byte, 1<<16)
	for {
		_, err := f.Read(buf)
		if err != nil && !errors.Is(err, unix.ENOBUFS) && !errors.Is(err, unix.EINTR) {
			return
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

func sameLinks(a, b []Link) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].equal(b[i]) {
			return false
		}
	}
	return true
}
