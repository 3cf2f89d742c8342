package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/heraldlb/herald/controllers"
	"github.com/heraldlb/herald/internal/apitest"
)

// TestNewManagerWaitsForTheAPIServer: the controller's manager options
// (whose cache needs the API server's REST mappings) against an address
// where nothing listens yet; newManager keeps trying, and returns a
// manager once a real API server answers there.
func TestNewManagerWaitsForTheAPIServer(t *testing.T) {
	cfg, _ := apitest.Start(t)
	real, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	// A port with nothing behind it, until the forwarder takes it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	away := rest.CopyConfig(cfg)
	away.Host = "https://" + addr

	var tries int
	log := funcr.New(func(_, args string) {
		if strings.Contains(args, "cannot be reached") {
			tries++
		}
	}, funcr.Options{})
	done := make(chan error, 1)
	go func() {
		mgr, err := newManager(context.Background(), away, controllers.ManagerOptions(controllers.Options{Namespace: "herald-system"}), 50*time.Millisecond, log)
		if err == nil && mgr == nil {
			err = errors.New("no manager and no error")
		}
		done <- err
	}()
	time.Sleep(500 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("newManager returned %v while the API server could not be reached", err)
	default:
	}
	// The API server "comes back": forward the port to the real one.
	fwd, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("taking the port back: %v", err)
	}
	t.Cleanup(func() { fwd.Close() })
	go forward(fwd, real.Host)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("newManager after the API server came back: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("newManager did not return a minute after the API server came back")
	}
	if tries < 2 {
		t.Errorf("newManager logged %d retries, want at least 2 while the API server was away", tries)
	}
}

// forward copies every connection accepted on ln to target and back.
func forward(ln net.Listener, target string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer u.Close()
			go func() { _, _ = io.Copy(u, c) }()
			_, _ = io.Copy(c, u)
		}()
	}
}

// TestNewManagerStopsWithItsContext: a stop (SIGTERM) while waiting for
// the API server ends the wait with an error naming the address.
func TestNewManagerStopsWithItsContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = newManager(ctx, &rest.Config{Host: "https://" + addr}, controllers.ManagerOptions(controllers.Options{Namespace: "herald-system"}), 10*time.Millisecond, logr.Discard())
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("newManager = %v, want an error naming %s", err, addr)
	}
}

func TestUnreachable(t *testing.T) {
	gr := schema.GroupResource{Group: "heraldlb.io", Resource: "ipaddresspools"}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("restmapping: %w", &url.Error{Op: "Get", URL: "https://203.0.113.1:6443/api", Err: errors.New("connection refused")}), true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{apierrors.NewServiceUnavailable("etcd is away"), true},
		{fmt.Errorf("restmapping: %w", &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "heraldlb.io", Kind: "IPAddressPool"}}), true},
		{fmt.Errorf("restmapping: %w", &discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{{Group: "heraldlb.io", Version: "v1beta1"}: errors.New("no matches")}}), true},
		{apierrors.NewTooManyRequests("slow down", 1), true},
		{apierrors.NewInternalError(errors.New("etcdserver: leader changed")), true},
		{apierrors.NewForbidden(gr, "", errors.New("no RBAC")), false},
		{errors.New("--metrics-bind-address: invalid port"), false},
	} {
		if got := unreachable(tc.err); got != tc.want {
			t.Errorf("unreachable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
