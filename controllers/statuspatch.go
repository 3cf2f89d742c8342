package controllers

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// statusPatch is a strategic merge patch of a Service's status, built by
// serviceStatusPatch.
type statusPatch []byte

// Type implements client.Patch.
func (p statusPatch) Type() types.PatchType { return types.StrategicMergePatchType }

// Data implements client.Patch.
func (p statusPatch) Data(client.Object) ([]byte, error) { return p, nil }

// serviceStatusPatch returns the strategic merge patch taking old's status
// to updated's. A Service's status is its ingress list (atomic: replaced
// whole) and its conditions (merged by type: only the conditions that
// changed are sent, and a removed one as a delete directive, so the patch
// never touches another controller's condition). It is what
// client.StrategicMergeFrom would send, without its cost: that marshals
// both objects whole and diffs them, a large share of the controller's CPU
// per Service.
func serviceStatusPatch(old, updated *corev1.Service) (client.Patch, error) {
	status := map[string]any{}
	if !equality.Semantic.DeepEqual(old.Status.LoadBalancer.Ingress, updated.Status.LoadBalancer.Ingress) {
		var ingress any // null deletes the list
		if len(updated.Status.LoadBalancer.Ingress) > 0 {
			ingress = updated.Status.LoadBalancer.Ingress
		}
		status["loadBalancer"] = map[string]any{"ingress": ingress}
	}
	var conds []any
	for _, c := range updated.Status.Conditions {
		if o := meta.FindStatusCondition(old.Status.Conditions, c.Type); o == nil || !equality.Semantic.DeepEqual(*o, c) {
			conds = append(conds, c)
		}
	}
	for _, c := range old.Status.Conditions {
		if meta.FindStatusCondition(updated.Status.Conditions, c.Type) == nil {
			conds = append(conds, map[string]string{"$patch": "delete", "type": c.Type})
		}
	}
	if len(conds) > 0 {
		status["conditions"] = conds
	}
	data, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return nil, fmt.Errorf("service %s: encoding the status patch: %w", keyOf(old), err)
	}
	return statusPatch(data), nil
}
