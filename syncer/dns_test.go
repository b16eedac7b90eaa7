package syncer

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// Services without a selector resolve like any other: their ClusterIP, or when headless the
// addresses of the slices the tenant made (directly or through a mirrored Endpoints object).
func TestDNSResolvesSelectorlessServices(t *testing.T) {
	newIndexer := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	svcs, slices := newIndexer(), newIndexer()
	for _, s := range []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "external", Namespace: "team"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.50", ClusterIPs: []string{"10.96.0.50"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "team"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone}},
	} {
		_ = svcs.Add(s)
	}
	slice := func(name, managedBy string, endpoints ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team",
			Labels: map[string]string{discoveryv1.LabelServiceName: "db", discoveryv1.LabelManagedBy: managedBy}},
			AddressType: discoveryv1.AddressTypeIPv4, Endpoints: endpoints}
	}
	_ = slices.Add(slice("db-mirrored", "endpointslicemirroring-controller.k8s.io",
		discoveryv1.Endpoint{Addresses: []string{"10.0.0.5"}, Hostname: ptr.To("db-0"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
		discoveryv1.Endpoint{Addresses: []string{"10.0.0.6"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}}))
	_ = slices.Add(slice("db-own", "tenant", discoveryv1.Endpoint{Addresses: []string{"10.0.0.7"}}))
	d := &dnsServer{services: corelisters.NewServiceLister(svcs), slices: discoverylisters.NewEndpointSliceLister(slices)}

	for name, want := range map[string]string{
		"external.team":  "[10.96.0.50]",
		"db.team":        "[10.0.0.5 10.0.0.7]",
		"db-0.db.team":   "[10.0.0.5]",
		"missing.team":   "NXDOMAIN",
		"nobody.db.team": "NXDOMAIN",
	} {
		got := "NXDOMAIN"
		if ips, ok := d.lookup(strings.Split(name, ".")); ok {
			addrs := make([]string, len(ips))
			for i, ip := range ips {
				addrs[i] = ip.String()
			}
			sort.Strings(addrs)
			got = fmt.Sprint(addrs)
		}
		if got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}
