package ipam

import "math/big"

func (f *famState) stats() FamilyStats {
	assigned := new(big.Int).SetUint64(f.assigned)
	return FamilyStats{
		Total:     new(big.Int).Set(f.total),
		Assigned:  assigned,
		Available: new(big.Int).Sub(f.total, assigned),
	}
}
