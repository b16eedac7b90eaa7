package addons

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// loadBalancer fills status.loadBalancer.ingress of LoadBalancer Services (without a
// loadBalancerClass) with an address of pool; kube-proxy then routes that address to the
// Service like a cloud load balancer would.
type loadBalancer struct {
	client   kubernetes.Interface
	services corelisters.ServiceLister
	pool     netip.Prefix
	// assigned remembers what this process handed out, ahead of the informer's cache.
	assigned map[netip.Addr]string
	queue    *queue
	logger   *slog.Logger
}

func newLoadBalancer(client kubernetes.Interface, f informers.SharedInformerFactory, pool netip.Prefix, logger *slog.Logger) *loadBalancer {
	lb := &loadBalancer{client: client, pool: pool, assigned: map[netip.Addr]string{}, queue: newQueue("load-balancer", logger), logger: logger}
	inf := f.Core().V1().Services()
	lb.services = inf.Lister()
	add := func(obj any) {
		if key, ok := keyOf(obj); ok {
			lb.queue.add(key)
		}
	}
	inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, obj any) { add(obj) }, DeleteFunc: add})
	return lb
}

func (lb *loadBalancer) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	svc, err := lb.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		lb.release(key)
		return nil
	}
	if err != nil {
		return err
	}
	wanted := svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.LoadBalancerClass == nil
	have := lb.ours(svc)
	switch {
	case !wanted && len(have) > 0:
		// The Service stopped being ours (type changed): withdraw the address like a cloud would.
		return lb.setIngress(ctx, svc, key, nil)
	case !wanted || len(svc.Status.LoadBalancer.Ingress) > 0:
		return nil
	}
	ip, err := lb.allocate(svc)
	if err != nil {
		return err
	}
	return lb.setIngress(ctx, svc, key, &ip)
}

func (lb *loadBalancer) allocate(svc *corev1.Service) (netip.Addr, error) {
	used := map[netip.Addr]bool{}
	for a := range lb.assigned {
		used[a] = true
	}
	all, err := lb.services.List(labels.Everything())
	if err != nil {
		return netip.Addr{}, err
	}
	for _, s := range all {
		for _, a := range lb.ours(s) {
			used[a] = true
		}
	}
	return freeAddress(lb.pool, used, svc.Spec.LoadBalancerIP)
}

// freeAddress is requested when it is a free address of pool, else pool's first free address.
func freeAddress(pool netip.Prefix, used map[netip.Addr]bool, requested string) (netip.Addr, error) {
	if want, err := netip.ParseAddr(requested); err == nil && pool.Contains(want) && !used[want] {
		return want, nil
	}
	// The pool's first and last addresses are skipped, as on a subnet.
	for a := pool.Addr().Next(); pool.Contains(a.Next()); a = a.Next() {
		if !used[a] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("load balancer pool %s is exhausted", pool)
}

func (lb *loadBalancer) setIngress(ctx context.Context, svc *corev1.Service, key string, ip *netip.Addr) error {
	svc = svc.DeepCopy()
	svc.Status.LoadBalancer.Ingress = nil
	if ip != nil {
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip.String(), IPMode: ptr(corev1.LoadBalancerIPModeVIP)}}
	}
	if _, err := lb.client.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of service %s: %w", key, err)
	}
	lb.release(key)
	if ip != nil {
		lb.assigned[*ip] = key
		lb.logger.Info("assigned load balancer address", "service", key, "ip", ip.String())
	}
	return nil
}

func (lb *loadBalancer) release(key string) {
	for a, k := range lb.assigned {
		if k == key {
			delete(lb.assigned, a)
		}
	}
}

// ours lists the ingress addresses of svc that lie in the pool.
func (lb *loadBalancer) ours(svc *corev1.Service) []netip.Addr {
	var addrs []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil && lb.pool.Contains(a) {
			addrs = append(addrs, a)
		}
	}
	return addrs
}
