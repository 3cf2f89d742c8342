package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestAgentMetricsProxy: the speaker's /metrics/frr-agent forwards to the
// agent's metrics URL whatever path it was called on, and does not pass
// the scraper's token on.
func TestAgentMetricsProxy(t *testing.T) {
	var gotPath, gotAuth string
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth = r.URL.Path, r.Header.Get("Authorization")
		_, _ = io.WriteString(w, "herald_frr_daemon_up{daemon=\"bgpd\"} 1\n")
	}))
	defer agent.Close()
	h, err := agentMetricsProxy(agent.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, AgentMetricsPath+"?x=1", nil)
	req.Header.Set("Authorization", "Bearer secret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "herald_frr_daemon_up{daemon=\"bgpd\"} 1\n" {
		t.Errorf("proxied answer %d %q, want the agent's", rec.Code, rec.Body.String())
	}
	if gotPath != "/metrics" || gotAuth != "" {
		t.Errorf("the agent saw path %q and Authorization %q, want /metrics and none", gotPath, gotAuth)
	}

	for _, bad := range []string{"", "127.0.0.1:7476", "https://127.0.0.1:7476/metrics", "http:///metrics"} {
		if _, err := agentMetricsProxy(bad); err == nil {
			t.Errorf("agentMetricsProxy(%q) = nil error, want one naming the flag", bad)
		}
	}
}
