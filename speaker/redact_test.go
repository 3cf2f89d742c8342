package speaker

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/go-logr/logr/testr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/heraldlb/herald/frrconfig"
)

// TestApplyRedactsPasswords: a rejection quoting frr.conf, or a failure
// message, shows no password in the NodeState status.
func TestApplyRedactsPasswords(t *testing.T) {
	const pw = "Sup3rSecret"
	cfg := &frrconfig.Config{Routers: []frrconfig.Router{{ASN: 64512, Neighbors: []frrconfig.Neighbor{
		{Address: netip.MustParseAddr("198.51.100.1"), RemoteAS: "64500", Password: pw}}}}}
	tests := []struct {
		name  string
		agent *fakeAgent
	}{
		{"rejected", &fakeAgent{reject: func(*frrconfig.Config) bool { return true }}},
		{"failed", &fakeAgent{fail: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(Scheme()).Build()
			s, err := New(Config{Node: "node1", Reader: c, Client: c, Agent: &quotingAgent{fakeAgent: tt.agent, text: "neighbor 198.51.100.1 password " + pw}, Log: testr.New(t)})
			if err != nil {
				t.Fatal(err)
			}
			s.record(s.applyOnce(context.Background(), cfg))
			all := s.frr.Message + strings.Join(s.frr.RejectedLines, "\n")
			if strings.Contains(all, pw) {
				t.Errorf("the status shows the password: %q", all)
			}
			if !strings.Contains(all, "password <redacted>") {
				t.Errorf("the status lost the line: %q", all)
			}
		})
	}
}

// quotingAgent makes the fake's rejections and failures quote text.
type quotingAgent struct {
	*fakeAgent
	text string
}

func (q *quotingAgent) Apply(ctx context.Context, gen int64, cfg *frrconfig.Config) (ApplyResult, error) {
	res, err := q.fakeAgent.Apply(ctx, gen, cfg)
	if err != nil {
		return res, &quoted{q.text}
	}
	for i := range res.Rejected {
		res.Rejected[i].Text = q.text
	}
	return res, nil
}

type quoted struct{ s string }

func (q *quoted) Error() string { return "reloading: " + q.s }
