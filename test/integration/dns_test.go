package integration

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/clusterdns"
)

// TestClusterDNSRecords: the virtual cluster's DNS, on a real API server, answers every record
// type of the Kubernetes DNS specification the way CoreDNS does in a real cluster, over UDP and
// TCP, and forwards every other name to the host's DNS.
func TestClusterDNSRecords(t *testing.T) {
	v := apiServer(t, "vc-dns")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := v.Client()
	createNamespace(ctx, t, c, "dns", nil)
	web, err := c.CoreV1().Services("dns").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "ext"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "outside.test"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "peers"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "raft", Port: 2380, Protocol: corev1.ProtocolTCP}}}},
	} {
		if _, err := c.CoreV1().Services("dns").Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The headless Service's endpoint with a hostname, as a StatefulSet's pod with its subdomain has.
	if _, err := c.DiscoveryV1().EndpointSlices("dns").Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "peers-1", Labels: map[string]string{discoveryv1.LabelServiceName: "peers"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("raft"), Port: ptr.To(int32(2380)), Protocol: ptr.To(corev1.ProtocolTCP)}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.1.2.3"}, Hostname: ptr.To("peer-0"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A pod with an IP, as the syncer copies it from the host: its A record exists ("pods verified").
	pod, err := c.CoreV1().Pods("dns").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "registry.local/hello:v1"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.1.2.4", PodIPs: []corev1.PodIP{{IP: "10.1.2.4"}}}
	if _, err := c.CoreV1().Pods("dns").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	upstream := hostDNS(t, map[string]string{"outside.test.": "192.0.2.1", "1.0.0.10.in-addr.arpa.": "192.0.2.2"})
	addr, err := clusterdns.Serve(ctx, clusterdns.Config{Listen: "127.0.0.1:0", ClusterDomain: "cluster.local", Upstream: upstream, Kubeconfig: v.Kubeconfig()})
	if err != nil {
		t.Fatal(err)
	}
	server := addr.String()
	ip := web.Spec.ClusterIP
	reverse, _ := dns.ReverseAddr(ip)
	cases := []struct {
		qtype uint16
		name  string
		want  string
	}{
		{dns.TypeA, "web.dns.svc.cluster.local.", "NOERROR A " + ip},
		{dns.TypeAAAA, "web.dns.svc.cluster.local.", "NOERROR"}, // NODATA: the name exists
		{dns.TypeA, "missing.dns.svc.cluster.local.", "NXDOMAIN"},
		{dns.TypeSRV, "_http._tcp.web.dns.svc.cluster.local.", "NOERROR SRV 80 web.dns.svc.cluster.local."},
		{dns.TypeA, "ext.dns.svc.cluster.local.", "NOERROR CNAME outside.test. A 192.0.2.1"},
		{dns.TypeA, "peers.dns.svc.cluster.local.", "NOERROR A 10.1.2.3"},
		{dns.TypeA, "peer-0.peers.dns.svc.cluster.local.", "NOERROR A 10.1.2.3"},
		{dns.TypeSRV, "_raft._tcp.peers.dns.svc.cluster.local.", "NOERROR SRV 2380 peer-0.peers.dns.svc.cluster.local."},
		{dns.TypeA, "10-1-2-4.dns.pod.cluster.local.", "NOERROR A 10.1.2.4"},
		{dns.TypeA, "10-9-9-9.dns.pod.cluster.local.", "NXDOMAIN"},
		{dns.TypePTR, reverse, "NOERROR PTR web.dns.svc.cluster.local."},
		// The host's DNS would name the host's own addresses: a tenant gets no answer about them.
		{dns.TypePTR, "1.0.0.10.in-addr.arpa.", "NXDOMAIN"},
		{dns.TypeA, "outside.test.", "NOERROR A 192.0.2.1"},
	}
	for _, network := range []string{"udp", "tcp"} {
		client := &dns.Client{Net: network, Timeout: 3 * time.Second}
		for _, q := range cases {
			var got string
			// The kubernetes plugin answers once its informers hold the objects.
			_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
				got = ask(client, server, q.name, q.qtype)
				return got == q.want, nil
			})
			if got != q.want {
				t.Errorf("%s %s over %s: %q, want %q", dns.TypeToString[q.qtype], q.name, network, got, q.want)
			}
		}
	}
}

// ask is the answer to one question: its rcode and each record's type and data, in order.
func ask(c *dns.Client, server, name string, qtype uint16) string {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := c.Exchange(m, server)
	if err != nil {
		return "error: " + err.Error()
	}
	parts := []string{dns.RcodeToString[r.Rcode]}
	var records []string
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			records = append(records, "A "+rr.A.String())
		case *dns.AAAA:
			records = append(records, "AAAA "+rr.AAAA.String())
		case *dns.CNAME:
			records = append(records, "CNAME "+rr.Target)
		case *dns.SRV:
			records = append(records, fmt.Sprintf("SRV %d %s", rr.Port, rr.Target))
		case *dns.PTR:
			records = append(records, "PTR "+rr.Ptr)
		}
	}
	sort.SliceStable(records, func(i, j int) bool {
		return strings.HasPrefix(records[i], "CNAME") && !strings.HasPrefix(records[j], "CNAME")
	})
	return strings.Join(append(parts, records...), " ")
}

// hostDNS stands in for the host's DNS: it answers the given A records, over UDP and TCP.
func hostDNS(t *testing.T, records map[string]string) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		if a, ok := records[req.Question[0].Name]; ok && req.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(a)})
		} else if !ok {
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	udp, tcp := &dns.Server{PacketConn: pc, Handler: handler}, &dns.Server{Listener: l, Handler: handler}
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	t.Cleanup(func() { _ = udp.Shutdown(); _ = tcp.Shutdown() })
	return pc.LocalAddr().String()
}
