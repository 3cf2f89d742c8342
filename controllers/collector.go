package controllers

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
)

// clusterCollectTimeout bounds the cache reads of one scrape.
const clusterCollectTimeout = 5 * time.Second

// clusterCollector turns what the API says of herald's Services and nodes
// into series at scrape time, from the manager's cache (no API call): the
// Services by state, the pending and unannounced ones by name (bounded by
// the Services that have a problem), and each NodeState's FRR generation.
type clusterCollector struct {
	cluster client.Reader
	lbClass string

	services, pendingSince, unannounced, nodeGeneration *prometheus.Desc
}

func newClusterCollector(cluster client.Reader, lbClass string) *clusterCollector {
	return &clusterCollector{
		cluster: cluster, lbClass: lbClass,
		services: prometheus.NewDesc("herald_services",
			"LoadBalancer Services this controller serves, by state: allocated (an IP in status) or pending (none yet).",
			[]string{"state"}, nil),
		pendingSince: prometheus.NewDesc("herald_service_pending_since_timestamp_seconds",
			"Unix time since which a served Service has had no IP (its IPAllocated condition's transition, else its creation), with the condition's reason; one series per pending Service.",
			[]string{"namespace", "service", "reason"}, nil),
		unannounced: prometheus.NewDesc("herald_service_unannounced",
			"1 for a Service with an IP that its Announced condition says is not announced as it should be (no BGP session, no Layer 2 owner, speakers not reporting), with the condition's reason; one series per such Service.",
			[]string{"namespace", "service", "reason"}, nil),
		nodeGeneration: prometheus.NewDesc("herald_nodestate_frr_generation",
			"The FRR config generation a node's NodeState reports (.status.frr.generation); it lags the node's herald_speaker_config_generation when the speaker cannot write its NodeState.",
			[]string{"node"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.services
	ch <- c.pendingSince
	ch <- c.unannounced
	ch <- c.nodeGeneration
}

// Collect implements prometheus.Collector. A failed read (the cache not
// started yet) reports nothing for that kind.
func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	if c.cluster == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterCollectTimeout)
	defer cancel()
	var svcs corev1.ServiceList
	if err := c.cluster.List(ctx, &svcs, client.UnsafeDisableDeepCopy); err == nil {
		for _, m := range serviceSeries(svcs.Items, c.lbClass) {
			switch m.kind {
			case "state":
				ch <- prometheus.MustNewConstMetric(c.services, prometheus.GaugeValue, m.value, m.labels...)
			case "pending":
				ch <- prometheus.MustNewConstMetric(c.pendingSince, prometheus.GaugeValue, m.value, m.labels...)
			case "unannounced":
				ch <- prometheus.MustNewConstMetric(c.unannounced, prometheus.GaugeValue, m.value, m.labels...)
			}
		}
	}
	var states v1beta1.NodeStateList
	if err := c.cluster.List(ctx, &states, client.UnsafeDisableDeepCopy); err == nil {
		for _, ns := range states.Items {
			if ns.Status.FRR != nil {
				ch <- prometheus.MustNewConstMetric(c.nodeGeneration, prometheus.GaugeValue, float64(ns.Status.FRR.Generation), ns.Name)
			}
		}
	}
}

// series is one sample the collector reports: its kind (which Desc), value
// and label values.
type series struct {
	kind   string
	value  float64
	labels []string
}

// serviceSeries is the pure part of Collect: the samples for the Services
// served under lbClass.
func serviceSeries(svcs []corev1.Service, lbClass string) []series {
	allocated, pending := 0, 0
	var out []series
	for i := range svcs {
		svc := &svcs[i]
		if !Serves(svc, lbClass) || !svc.DeletionTimestamp.IsZero() {
			continue
		}
		if len(StatusIPs(svc)) > 0 {
			allocated++
			if c := meta.FindStatusCondition(svc.Status.Conditions, ConditionAnnounced); c != nil && c.Status == metav1.ConditionFalse {
				out = append(out, series{kind: "unannounced", value: 1, labels: []string{svc.Namespace, svc.Name, c.Reason}})
			}
			continue
		}
		pending++
		since, reason := svc.CreationTimestamp.Time, "Unknown"
		if c := meta.FindStatusCondition(svc.Status.Conditions, ConditionIPAllocated); c != nil && c.Status == metav1.ConditionFalse {
			since, reason = c.LastTransitionTime.Time, c.Reason
		}
		out = append(out, series{kind: "pending", value: float64(since.Unix()), labels: []string{svc.Namespace, svc.Name, reason}})
	}
	return append([]series{
		{kind: "state", value: float64(allocated), labels: []string{"allocated"}},
		{kind: "state", value: float64(pending), labels: []string{"pending"}},
	}, out...)
}
