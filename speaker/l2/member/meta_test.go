package member

import (
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMetaMACs(t *testing.T) {
	a, b := net.HardwareAddr{2, 0, 0, 0, 0, 0x11}, net.HardwareAddr{2, 0, 0, 0, 0, 0x12}
	tests := []struct {
		name string
		meta []byte
		want []net.HardwareAddr
	}{
		{"none (an older speaker: the readiness flag only)", []byte{metaReady}, nil},
		{"empty", nil, nil},
		{"two", append(append([]byte{metaNotReady}, a...), b...), []net.HardwareAddr{a, b}},
		{"a truncated MAC is dropped", append(append([]byte{metaReady}, a...), b[:3]...), []net.HardwareAddr{a}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, metaMACs(tc.meta)); diff != "" {
				t.Errorf("metaMACs (-want +got):\n%s", diff)
			}
		})
	}
	// What NodeMeta sends, metaMACs reads.
	m := &Member{ready: true, macs: []net.HardwareAddr{a, b}}
	meta := delegate{m}.NodeMeta(512)
	if meta[0] != metaReady || !cmp.Equal(metaMACs(meta), []net.HardwareAddr{a, b}) {
		t.Errorf("NodeMeta = %v, want ready then %s, %s", meta, a, b)
	}
}
