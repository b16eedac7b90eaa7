package integration

import (
	"context"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/test/hostcluster/addons"
)

// TestHostLoadBalancer: the test host cluster's stand-in for a cloud load balancer gives
// LoadBalancer Services distinct addresses of its pool, leaves other load balancer classes alone,
// and has a Service wait while the pool is exhausted.
func TestHostLoadBalancer(t *testing.T) {
	v := apiServer(t, "vc-loadbalancer")
	c := v.Client()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- addons.Run(ctx, addons.Config{Kubeconfig: v.Kubeconfig(), VolumeDir: t.TempDir(), NodeName: "node-1",
			LoadBalancerCIDR: "172.31.250.64/30", Logger: slog.New(slog.DiscardHandler)})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("addons: %v", err)
		}
	}()

	services := c.CoreV1().Services("default")
	create := func(name string, class *string) {
		t.Helper()
		mustCreate(t, services.Create, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: class, Ports: []corev1.ServicePort{{Port: 80}}}})
	}
	ingress := func(name string) string {
		t.Helper()
		s, err := services.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Status.LoadBalancer.Ingress) == 0 {
			return ""
		}
		return s.Status.LoadBalancer.Ingress[0].IP
	}
	addressed := func(name, want string) {
		t.Helper()
		pollT(t, 30*time.Second, "an address for "+name, func() bool { return ingress(name) != "" })
		if got := ingress(name); got != want {
			t.Errorf("%s got %s, want %s", name, got, want)
		}
	}

	create("a", nil)
	addressed("a", "172.31.250.65")
	create("other", ptr.To("example.com/lb"))
	create("b", nil)
	addressed("b", "172.31.250.66")

	// A /30 has two usable addresses: a third Service waits rather than share one.
	create("c", nil)
	time.Sleep(time.Second) // the allocator answers within milliseconds
	if got := ingress("c"); got != "" {
		t.Fatalf("c got %s from an exhausted pool", got)
	}
	if err := services.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	addressed("c", "172.31.250.65")
	if got := ingress("other"); got != "" {
		t.Errorf("a Service of another loadBalancerClass got %s", got)
	}
}
