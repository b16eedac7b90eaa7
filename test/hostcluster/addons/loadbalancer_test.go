package addons

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

func TestLoadBalancerAssignsDistinctAddressesAndSkipsOtherClasses(t *testing.T) {
	ctx := t.Context()
	svc := func(name string, class *string) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: class},
		}
	}
	client := fake.NewClientset(svc("a", nil), svc("b", nil), svc("other", ptr("example.com/lb")))
	f := informers.NewSharedInformerFactory(client, 0)
	lb := newLoadBalancer(client, f, netip.MustParsePrefix("172.31.250.64/30"), slog.New(slog.DiscardHandler))
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())

	for _, key := range []string{"ns/a", "ns/b", "ns/other"} {
		if err := lb.sync(ctx, key); err != nil {
			t.Fatalf("sync %s: %v", key, err)
		}
	}
	if got := ingress(ctx, t, lb, "a"); got != "172.31.250.65" {
		t.Errorf("a got %q, want 172.31.250.65", got)
	}
	if got := ingress(ctx, t, lb, "b"); got != "172.31.250.66" {
		t.Errorf("b got %q, want 172.31.250.66", got)
	}
	if got := ingress(ctx, t, lb, "other"); got != "" {
		t.Errorf("a Service of another loadBalancerClass got %q", got)
	}
	// A /30 has two usable addresses: a third Service must wait, not share one.
	if _, err := client.CoreV1().Services("ns").Create(ctx, svc("c", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		_, err := lb.services.Services("ns").Get("c")
		return err == nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := lb.sync(ctx, "ns/c"); err == nil {
		t.Errorf("c got an address from an exhausted pool: %q", ingress(ctx, t, lb, "c"))
	}
}

func ingress(ctx context.Context, t *testing.T, lb *loadBalancer, name string) string {
	t.Helper()
	s, err := lb.client.CoreV1().Services("ns").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Status.LoadBalancer.Ingress) == 0 {
		return ""
	}
	return s.Status.LoadBalancer.Ingress[0].IP
}
