package drill

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	exp := time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		value   string
		want    Drill
		wantErr string
	}{
		{name: "plain", value: "node1,2026-12-07T19:00:00Z", want: Drill{Node: "node1", Expiry: exp}},
		{name: "spaces", value: " node1 , 2026-12-07T19:00:00Z ", want: Drill{Node: "node1", Expiry: exp}},
		{name: "fractional and offset", value: "n.example.com,2026-12-07T20:00:00.5+01:00", want: Drill{Node: "n.example.com", Expiry: exp.Add(500 * time.Millisecond)}},
		{name: "no comma", value: "node1", wantErr: "want NODE,EXPIRY"},
		{name: "no node", value: ",2026-12-07T19:00:00Z", wantErr: "want NODE,EXPIRY"},
		{name: "no expiry", value: "node1,", wantErr: "want NODE,EXPIRY"},
		{name: "bad node", value: "Node_1,2026-12-07T19:00:00Z", wantErr: `node "Node_1" is not a node name`},
		{name: "bad time", value: "node1,tomorrow", wantErr: `expiry "tomorrow" is not an RFC 3339 time`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), Annotation) {
					t.Fatalf("Parse(%q) error %v, want one naming %s and containing %q", tc.value, err, Annotation, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Expiry.Equal(tc.want.Expiry) || got.Node != tc.want.Node {
				t.Errorf("Parse(%q) = %+v, want %+v", tc.value, got, tc.want)
			}
			back, err := Parse(got.String())
			if err != nil || !back.Expiry.Equal(got.Expiry) || back.Node != got.Node {
				t.Errorf("Parse(String()) = %+v, %v; want %+v", back, err, got)
			}
		})
	}
}

func TestActive(t *testing.T) {
	now := time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		expiry time.Time
		want   bool
	}{
		{"ahead", now.Add(time.Minute), true},
		{"at expiry", now, false},
		{"expired", now.Add(-time.Second), false},
		{"at the bound", now.Add(MaxDuration), true},
		{"beyond the bound", now.Add(MaxDuration + time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Drill{Node: "n", Expiry: tc.expiry}).Active(now); got != tc.want {
				t.Errorf("Active = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ann     map[string]string
		wantOK  bool
		wantErr bool
	}{
		{"none", nil, false, false},
		{"other annotations", map[string]string{"a": "b"}, false, false},
		{"set", map[string]string{Annotation: "node1,2026-12-07T19:00:00Z"}, true, false},
		{"broken", map[string]string{Annotation: "node1"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ok, err := Of(tc.ann)
			if diff := cmp.Diff([]bool{tc.wantOK, tc.wantErr}, []bool{ok, err != nil}); diff != "" {
				t.Errorf("Of: (ok, err) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
