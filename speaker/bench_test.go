package speaker

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1beta1 "github.com/heraldlb/herald/api/v1beta1"
	"github.com/heraldlb/herald/internal/apitest"
)

// BenchmarkAnnounce measures the speaker's own share of the announce
// latency: from a Service's IP written to its status to the config holding
// it reaching the agent (a fake that answers at once), through the API
// server's watch, the cache, the coalescing window and the planner, with
// base Services already announced.
func BenchmarkAnnounce(b *testing.B) {
	for _, base := range []int{0, 200} { // envtest has 254 ClusterIPs
		b.Run(fmt.Sprintf("existing=%d", base), func(b *testing.B) {
			cfg, c := apitest.Start(b)
			cluster(b, c)
			mustCreate(b, c, &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "base", Namespace: testNS},
				Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"10.1.0.0/16"}}})
			for i := 0; i < base; i++ {
				lbService(b, c, fmt.Sprintf("base%d", i), fmt.Sprintf("10.1.%d.%d", i/250, i%250+1))
			}
			agent := &fakeAgent{}
			opts := ManagerOptions("node1", testNS)
			opts.Metrics = metricsserver.Options{BindAddress: "0"}
			mgr, err := manager.New(cfg, opts)
			if err != nil {
				b.Fatal(err)
			}
			sctx, cancel := context.WithCancel(context.Background())
			if _, err := Setup(sctx, mgr, Config{Node: "node1", Namespace: testNS, Agent: agent}); err != nil {
				b.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- mgr.Start(sctx) }()
			defer func() { cancel(); <-done }()
			for base > 0 && len(agent.advertised("198.51.100.1")) < base {
				time.Sleep(10 * time.Millisecond)
			}
			ctx := context.Background()
			var lat []time.Duration
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				ip := fmt.Sprintf("192.0.2.%d", i%60+1)
				s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc%d", i), Namespace: "default"},
					Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}}
				if err := c.Create(ctx, s); err != nil {
					b.Fatal(err)
				}
				s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
				start := time.Now()
				if err := c.Status().Update(ctx, s); err != nil {
					b.Fatal(err)
				}
				for !slices.Contains(agent.advertised("198.51.100.1"), ip+"/32") {
					time.Sleep(time.Millisecond)
				}
				lat = append(lat, time.Since(start))
				if err := c.Delete(ctx, s); err != nil {
					b.Fatal(err)
				}
				for slices.Contains(agent.advertised("198.51.100.1"), ip+"/32") {
					time.Sleep(time.Millisecond)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
