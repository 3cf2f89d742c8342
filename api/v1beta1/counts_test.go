package v1beta1

import (
	"math/big"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSetCounts(t *testing.T) {
	max128 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	for _, tc := range []struct {
		name string
		in   PoolCounts
		want IPAddressPoolStatus
	}{
		{
			name: "dual stack beyond int64",
			in:   PoolCounts{AssignedIPv4: big.NewInt(3), AvailableIPv4: big.NewInt(61), AssignedIPv6: big.NewInt(0), AvailableIPv6: max128},
			want: IPAddressPoolStatus{
				AssignedIPv4: "3", AvailableIPv4: "61", AssignedIPv6: "0", AvailableIPv6: "340282366920938463463374607431768211455",
				Assigned: "3 v4, 0 v6", Available: "61 v4, 340282366920938463463374607431768211455 v6",
			},
		},
		{
			name: "IPv4 only",
			in:   PoolCounts{AssignedIPv4: big.NewInt(0), AvailableIPv4: big.NewInt(4294967296)},
			want: IPAddressPoolStatus{AssignedIPv4: "0", AvailableIPv4: "4294967296", Assigned: "0 v4", Available: "4294967296 v4"},
		},
		{
			name: "IPv6 only",
			in:   PoolCounts{AssignedIPv6: big.NewInt(2), AvailableIPv6: big.NewInt(254)},
			want: IPAddressPoolStatus{AssignedIPv6: "2", AvailableIPv6: "254", Assigned: "2 v6", Available: "254 v6"},
		},
		{name: "empty", in: PoolCounts{}, want: IPAddressPoolStatus{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := IPAddressPoolStatus{AssignedIPv4: "stale", Assigned: "stale"}
			got.SetCounts(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("SetCounts (-want +got):\n%s", diff)
			}
		})
	}
}
