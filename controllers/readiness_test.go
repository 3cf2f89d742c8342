package controllers

import (
	"errors"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestReady(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lease := func(holder string, renewed time.Duration) *coordinationv1.Lease {
		return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder),
			RenewTime: ptr.To(metav1.NewMicroTime(now.Add(-renewed))), LeaseDurationSeconds: ptr.To[int32](15)}}
	}
	tests := []struct {
		name string
		in   ReadyInput
		want string // a substring of the error; "": ready
	}{
		{"no election, synced", ReadyInput{Synced: true}, ""},
		{"no election, not synced", ReadyInput{}, "caches have not synced"},
		{"leader, synced", ReadyInput{LeaderElection: true, Leader: true, Synced: true}, ""},
		{"leader, caches never sync (forbidden)", ReadyInput{LeaderElection: true, Leader: true}, "forbidden"},
		{"standby, another leads", ReadyInput{LeaderElection: true, Lease: lease("herald-controller-b", 3*time.Second), Now: now}, ""},
		{"standby, no Lease yet", ReadyInput{LeaderElection: true, Now: now}, "no leader elected yet"},
		{"standby, Lease released", ReadyInput{LeaderElection: true, Lease: lease("", time.Second), Now: now}, "no leader elected yet"},
		{"standby, leader's Lease expired", ReadyInput{LeaderElection: true, Lease: lease("herald-controller-b", 20*time.Second), Now: now}, "election in progress"},
		{"standby, Lease unreadable", ReadyInput{LeaderElection: true, LeaseErr: errors.New(`leases.coordination.k8s.io "herald-controller" is forbidden`), Now: now}, "is forbidden"},
		{"standby, synced caches do not make it ready", ReadyInput{LeaderElection: true, Synced: true, Now: now}, "no leader"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Ready(tc.in)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Ready = %v, want ready", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Ready = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
