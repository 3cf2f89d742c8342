package verdict

import (
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Compare orders two objects by age: the one created first (the older
// creationTimestamp) is less; equal timestamps (they have one-second
// resolution) are ordered by name. It returns -1, 0 or 1.
func Compare(a, b metav1.Object) int {
	ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	switch {
	case ta.Time.Before(tb.Time):
		return -1
	case tb.Time.Before(ta.Time):
		return 1
	}
	return strings.Compare(a.GetName(), b.GetName())
}

// Older reports whether a is in effect before b: created first, or at the
// same second with a name that sorts first.
func Older(a, b metav1.Object) bool { return Compare(a, b) < 0 }

// ByAge sorts objects oldest first (Compare). T is a value type whose
// pointer is a metav1.Object, such as v1beta1.BGPPeer.
func ByAge[T any, PT interface {
	*T
	metav1.Object
}](objs []T) {
	sort.SliceStable(objs, func(i, j int) bool { return Compare(PT(&objs[i]), PT(&objs[j])) < 0 })
}

func sortSlice[T any](s []T, cmp func(a, b T) int) {
	sort.SliceStable(s, func(i, j int) bool { return cmp(s[i], s[j]) < 0 })
}
