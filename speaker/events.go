package speaker

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// event records an event on this speaker's Node, as the kubelet does (a
// Node's events name it by its name, which is also the UID they carry).
func (s *Speaker) event(eventType, reason, format string, args ...any) {
	if s.cfg.Events == nil {
		return
	}
	ref := &corev1.ObjectReference{Kind: "Node", Name: s.cfg.Node, UID: types.UID(s.cfg.Node)}
	s.cfg.Events.Eventf(ref, eventType, reason, format, args...)
}
