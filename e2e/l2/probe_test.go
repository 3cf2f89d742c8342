package l2

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUnanswered(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	sent := []time.Time{at(0), at(10), at(20), at(30), at(40)}
	const a, b = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
	for _, tc := range []struct {
		name    string
		replies []Reply
		want    []time.Time
	}{
		{name: "each answered at once", replies: []Reply{{At: at(1), MAC: a}, {At: at(11), MAC: a}, {At: at(21), MAC: a}, {At: at(31), MAC: a}, {At: at(41), MAC: a}}},
		{name: "replies read late, in a burst, still count",
			replies: []Reply{{At: at(35), MAC: a}, {At: at(35), MAC: a}, {At: at(35), MAC: a}, {At: at(36), MAC: a}, {At: at(45), MAC: a}}},
		{name: "a silence loses the requests in it",
			replies: []Reply{{At: at(1), MAC: a}, {At: at(31), MAC: b}, {At: at(41), MAC: b}},
			want:    []time.Time{at(10), at(20)}},
		{name: "two nodes answering one request (a hand-off) count once",
			replies: []Reply{{At: at(1), MAC: a}, {At: at(11), MAC: a}, {At: at(12), MAC: b}, {At: at(21), MAC: b}, {At: at(22), MAC: a}, {At: at(31), MAC: b}},
			want:    []time.Time{at(40)}},
		{name: "gratuitous replies answer nothing",
			replies: []Reply{{At: at(1), MAC: a}, {At: at(11), MAC: b, Gratuitous: true}, {At: at(21), MAC: b, Gratuitous: true}, {At: at(31), MAC: b}, {At: at(41), MAC: b}},
			want:    []time.Time{at(10), at(20)}},
		{name: "a reply before any request answers none",
			replies: []Reply{{At: at(-1), MAC: a}},
			want:    sent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Unanswered(sent, tc.replies)); diff != "" {
				t.Errorf("Unanswered (-want +got):\n%s", diff)
			}
		})
	}
}
