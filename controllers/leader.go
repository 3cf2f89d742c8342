package controllers

import (
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
)

// LeaseName is the Lease the controller's replicas elect their leader with,
// in herald's namespace.
const LeaseName = "herald-controller"

// LeaderIdentity is the identity a controller replica holds the Lease
// under: flag when set, else $POD_NAME (the downward API's metadata.name),
// else the host name. It is stable across restarts of the process in the
// same pod, unlike controller-runtime's default (host name plus a random
// UUID per start): client-go lets a candidate whose identity is the Lease's
// holder renew it at once (LeaderElector.tryAcquireOrRenew: IsLeader
// compares the observed holder with its own identity), so a controller
// that crashed and was restarted by the kubelet leads again on its first
// try instead of waiting out the lease its previous run left (15 s).
// Two live replicas never share a pod name, so never an identity.
func LeaderIdentity(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if pod := os.Getenv("POD_NAME"); pod != "" {
		return pod, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("no --leader-elect-identity nor POD_NAME, and the host name: %w", err)
	}
	return host, nil
}

// LeaseLock returns the Lease lock namespace/LeaseName held under
// identity, for manager.Options.LeaderElectionResourceLockInterface, and a
// function that stops its event broadcaster. Its client's requests time
// out after half of renewDeadline (at least 1 s), as controller-runtime's
// own lock does, so one hung request cannot cost the leadership. Like
// controller-runtime's lock, it records the "became leader" event on the
// Lease (core/v1 Events), which operators read to see who leads since when.
func LeaseLock(cfg *rest.Config, namespace, identity string, renewDeadline time.Duration) (resourcelock.Interface, func(), error) {
	c := rest.CopyConfig(cfg)
	c = rest.AddUserAgent(c, "leader-election")
	c.Timeout = max(renewDeadline/2, time.Second)
	core, err := corev1client.NewForConfig(c)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the leader election's client: %w", err)
	}
	coord, err := coordinationv1client.NewForConfig(c)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the leader election's client: %w", err)
	}
	events := record.NewBroadcaster()
	events.StartRecordingToSink(&corev1client.EventSinkImpl{Interface: core.Events(namespace)})
	recorder := events.NewRecorder(clientgoscheme.Scheme, corev1.EventSource{Component: "herald-controller"})
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, namespace, LeaseName, core, coord,
		resourcelock.ResourceLockConfig{Identity: identity, EventRecorder: recorder})
	if err != nil {
		events.Shutdown()
		return nil, nil, fmt.Errorf("creating the Lease lock %s/%s: %w", namespace, LeaseName, err)
	}
	return lock, events.Shutdown, nil
}
