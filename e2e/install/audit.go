package install

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// AuditPolicy logs every request's metadata: who, which verb, on what,
// and the answer's code.
const AuditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
`

// Request is one API request as the audit log records it.
type Request struct {
	User, Verb, Group, Resource, Subresource, Namespace, Name string
	Code                                                      int
}

// Permission is what one request needs: verb on group/resource[/sub].
func (r Request) Permission() string {
	res := r.Resource
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	return r.Verb + " " + r.Group + "/" + res
}

// ReadAudit reads the audit log's ResponseComplete events.
func ReadAudit(path string) ([]Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer f.Close()
	var out []Request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			Stage string `json:"stage"`
			Verb  string `json:"verb"`
			User  struct {
				Username string `json:"username"`
			} `json:"user"`
			ObjectRef *struct {
				Resource, Namespace, Name, APIGroup, Subresource string
			} `json:"objectRef"`
			ResponseStatus *struct {
				Code int `json:"code"`
			} `json:"responseStatus"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("audit log line %q: %w", sc.Text(), err)
		}
		if ev.Stage != "ResponseComplete" && ev.Stage != "ResponseStarted" || ev.ObjectRef == nil {
			continue
		}
		r := Request{User: ev.User.Username, Verb: ev.Verb, Group: ev.ObjectRef.APIGroup, Resource: ev.ObjectRef.Resource,
			Subresource: ev.ObjectRef.Subresource, Namespace: ev.ObjectRef.Namespace, Name: ev.ObjectRef.Name}
		if ev.ResponseStatus != nil {
			r.Code = ev.ResponseStatus.Code
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// Granted lists the permissions ("verb group/resource") rules grant, sorted.
func Granted(rules []rbacv1.PolicyRule) []string {
	set := map[string]bool{}
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					set[v+" "+g+"/"+res] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Unused returns the granted permissions no request of user used, less
// those in exempt.
func Unused(granted []string, reqs []Request, user string, exempt map[string]string) []string {
	used := map[string]bool{}
	for _, r := range reqs {
		if r.User == user {
			used[r.Permission()] = true
		}
	}
	var out []string
	for _, p := range granted {
		if !used[p] && exempt[p] == "" {
			out = append(out, p)
		}
	}
	return out
}

// Forbidden returns user's requests the API server refused with 403.
func Forbidden(reqs []Request, user string) []string {
	var out []string
	for _, r := range reqs {
		if r.User == user && r.Code == 403 {
			out = append(out, strings.TrimSpace(r.Permission()+" "+r.Namespace+"/"+r.Name))
		}
	}
	return out
}
