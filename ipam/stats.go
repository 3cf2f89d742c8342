package ipam

import "math/big"

func (f *famState) stats() FamilyStats {
	assigned := new(big.Int).SetUint64(f.assigned)
	avail := new(big.Int).Sub(f.total, assigned)
	if avail.Sign() < 0 {
		// Services restored with subnet-router anycast addresses hold
		// more than the pool hands out.
		avail.SetInt64(0)
	}
	return FamilyStats{
		Total:     new(big.Int).Set(f.total),
		Assigned:  assigned,
		Available: avail,
	}
}
