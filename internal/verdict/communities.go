package verdict

import (
	"fmt"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// Alias is a Community alias in effect.
type Alias struct {
	// Value is the community value, as written in the Community.
	Value string
	// From is the Community defining it.
	From string
}

// DecideCommunities maps each alias to its value. An alias defined by
// several Communities with different values takes the value of the oldest
// (Compare); each newer definition is rejected, naming the older one.
// Definitions with the same value agree and are not reported.
func DecideCommunities(cs []v1beta1.Community) (map[string]Alias, []Rejection) {
	sorted := make([]*v1beta1.Community, len(cs))
	for i := range cs {
		sorted[i] = &cs[i]
	}
	sortPtrs(sorted)
	out := map[string]Alias{}
	var rejected []Rejection
	for _, c := range sorted {
		for i, a := range c.Spec.Communities {
			have, ok := out[a.Name]
			if !ok {
				out[a.Name] = Alias{Value: string(a.Value), From: c.Name}
				continue
			}
			if have.Value == string(a.Value) {
				continue
			}
			rejected = append(rejected, Rejection{Kind: KindCommunity, Name: c.Name, Field: fmt.Sprintf("spec.communities[%d]", i),
				Reason: ReasonConflictingCommunity, InEffect: have.From,
				Message: fmt.Sprintf("alias %q is %q here but %q in Community %s, which is older and keeps it: give the alias one value, or rename it here",
					a.Name, a.Value, have.Value, have.From)})
		}
	}
	return out, rejected
}
