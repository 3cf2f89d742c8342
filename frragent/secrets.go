package frragent

import (
	"slices"
	"sync"

	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/internal/redact"
)

// secrets are the passwords the agent was given, so that they are taken
// out of whatever it logs or answers (redact.Text also takes out any word
// after "password", these in any other shape FRR may print them).
type secrets struct {
	mu   sync.Mutex
	list []string
}

// learn adds the passwords of a request: those of its model and those
// written in its rendered file.
func (s *secrets) learn(req ApplyRequest) {
	var found []string
	if req.Config != nil {
		for _, r := range req.Config.Routers {
			for _, n := range r.Neighbors {
				if n.Password != "" {
					found = append(found, n.Password)
				}
			}
		}
	}
	found = append(found, redact.Passwords(req.Rendered)...)
	if len(found) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range found {
		if !slices.Contains(s.list, p) {
			s.list = append(s.list, p)
		}
	}
}

// values returns the passwords learnt so far.
func (s *secrets) values() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.list)
}

// redactResult takes the passwords out of a result before anyone sees it:
// its error, its rejected lines and its rendered file (the lines stay
// where they are, so that the rejected lines' numbers still point at
// them).
func (a *Agent) redactResult(res Result) Result {
	sec := a.secrets.values()
	res.Error = redact.Text(res.Error, sec...)
	res.Rendered = redact.Text(res.Rendered, sec...)
	if res.Rejected != nil {
		rej := make([]vtysh.RejectedLine, len(res.Rejected))
		for i, r := range res.Rejected {
			rej[i] = vtysh.RejectedLine{Line: r.Line, Text: redact.Text(r.Text, sec...), Error: redact.Text(r.Error, sec...)}
		}
		res.Rejected = rej
	}
	return res
}
