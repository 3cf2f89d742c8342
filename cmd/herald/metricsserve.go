package main

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"

	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// AgentMetricsPath is where a speaker serves its frr-agent's metrics,
// behind the same authentication as its own /metrics (--agent-metrics-url).
const AgentMetricsPath = "/metrics/frr-agent"

// metricsOptions is the metrics server of the controller and the speaker:
// on addr ("0" for none); with secure, HTTPS (a self-signed certificate
// unless certDir holds tls.crt and tls.key) where every request must carry
// a bearer token the API server authenticates (TokenReview) and authorizes
// for GET on the path (SubjectAccessReview) — Prometheus scrapes with its
// ServiceAccount's token; extra handlers are behind the same check.
func metricsOptions(addr string, secure bool, certDir string, extra map[string]http.Handler) metricsserver.Options {
	o := metricsserver.Options{BindAddress: addr, ExtraHandlers: extra}
	if secure {
		o.SecureServing = true
		o.CertDir = certDir
		o.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	return o
}

// agentMetricsProxy forwards GET requests to the frr-agent's metrics
// endpoint (raw, an http URL such as http://127.0.0.1:7476/metrics, which
// the agent serves on the node's loopback only).
func agentMetricsProxy(raw string) (http.Handler, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("--agent-metrics-url=%q: give the agent's metrics URL, such as http://127.0.0.1:7476/metrics", raw)
	}
	p := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.Out.URL.Scheme, r.Out.URL.Host, r.Out.URL.Path, r.Out.URL.RawQuery = u.Scheme, u.Host, u.Path, ""
		r.Out.Host = u.Host
		// The scraper's token is for herald's API server check, not the agent.
		r.Out.Header.Del("Authorization")
	}}
	return p, nil
}
