package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/syncer/translate"
)

// TestPodDNS is issue 14's DNS check from a virtual pod, over UDP and TCP, side by side with
// what the host's CoreDNS answers a host pod about the same objects' twins: a Service's A and
// SRV records, NODATA for AAAA, NXDOMAIN, and, in the virtual cluster alone, a headless
// Service's pod by hostname and subdomain, a pod's A record, an ExternalName's CNAME and a short
// name through the search path.
func TestPodDNS(t *testing.T) {
	v, hc, hostNS := startOnHostWith(t, "dns", "--helper-image", vkubeImage(t))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	vc := v.Client()
	for _, c := range []struct {
		client kubernetes.Interface
		ns     string
	}{{vc, "default"}, {hc, hostNS}} {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}}}
		if _, err := c.client.CoreV1().Services(c.ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := vc.AppsV1().Deployments("default").Create(ctx, helloDeployment("web", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := hc.AppsV1().Deployments(hostNS).Create(ctx, helloDeployment("probe", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "peers"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "peer"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ext"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "web.default.svc.cluster.local"}},
	} {
		if _, err := vc.CoreV1().Services("default").Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	peer := helloPod("peer", func(s *corev1.PodSpec) { s.Hostname, s.Subdomain = "peer-0", "peers" })
	peer.Labels = map[string]string{"app": "peer"}
	if _, err := vc.CoreV1().Pods("default").Create(ctx, peer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	client := runningPod(ctx, t, vc, "default", "app=web")
	peerPod := runningPod(ctx, t, vc, "default", "app=peer")
	probe := runningPod(ctx, t, hc, hostNS, "app=probe")
	hostCfg, err := requireHost(t).RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	web, err := vc.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inVirtual := func(cmd ...string) (string, error) { return execIn(ctx, v, "default", client.Name, cmd...) }
	onHost := func(cmd ...string) (string, error) { return execWith(ctx, hostCfg, hostNS, probe.Name, cmd...) }
	twin := translate.HostName("web", "default", "dns") + "." + hostNS + ".svc.cluster.local"
	const virtualName = "web.default.svc.cluster.local"
	for _, network := range []string{"udp", "tcp"} {
		expect := func(run func(...string) (string, error), qtype, name, want string) {
			t.Helper()
			var out string
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			_ = wait.PollUntilContextCancel(pctx, 500*time.Millisecond, true, func(context.Context) (bool, error) {
				o, err := run("/hello", "dig", network, qtype, name)
				out = strings.TrimSpace(strings.ReplaceAll(o, twin, virtualName))
				return err == nil && out == want, nil
			})
			if out != want {
				t.Errorf("%s %s over %s: %q, want %q", qtype, name, network, out, want)
			}
		}
		// Side by side: the host's CoreDNS about the twin, the virtual cluster's about the Service.
		for _, q := range []struct{ qtype, virtual, host, want string }{
			{"A", virtualName, twin, "NOERROR\nA " + web.Spec.ClusterIP},
			{"SRV", "_http._tcp." + virtualName, "_http._tcp." + twin, "NOERROR\nSRV 0 100 80 " + virtualName + "."},
			{"AAAA", virtualName, twin, "NOERROR"},
			{"A", "missing.default.svc.cluster.local", "missing." + hostNS + ".svc.cluster.local", "NXDOMAIN"},
		} {
			expect(onHost, q.qtype, q.host, q.want)
			expect(inVirtual, q.qtype, q.virtual, q.want)
		}
		expect(inVirtual, "A", "peer-0.peers.default.svc.cluster.local", "NOERROR\nA "+peerPod.Status.PodIP)
		expect(inVirtual, "A", strings.ReplaceAll(client.Status.PodIP, ".", "-")+".default.pod.cluster.local", "NOERROR\nA "+client.Status.PodIP)
		expect(inVirtual, "A", "ext.default.svc.cluster.local", "NOERROR\nCNAME "+virtualName+".\nA "+web.Spec.ClusterIP)
	}
	// The pod's own names in its /etc/hosts are virtual (the kubelet wrote the host namespace's),
	// and its hostname answers without DNS.
	hosts, err := execIn(ctx, v, "default", peerPod.Name, "/hello", "cat", "/etc/hosts")
	if err != nil || !strings.Contains(hosts, peerPod.Status.PodIP+"\tpeer-0.peers.default.svc.cluster.local\tpeer-0\n") || strings.Contains(hosts, hostNS) {
		t.Errorf("/etc/hosts of a pod with a subdomain: %v\n%s", err, hosts)
	}
	if out, err := execIn(ctx, v, "default", peerPod.Name, "/hello", "lookup", "peer-0.peers.default.svc.cluster.local"); err != nil || !strings.Contains(out, peerPod.Status.PodIP) {
		t.Errorf("the pod's own name: %q %v", out, err)
	}
	// A short name through the pod's search path, with the resolver every program uses.
	poll(ctx, t, "web through the search path", func() bool {
		out, err := inVirtual("/hello", "lookup", "web")
		return err == nil && strings.Contains(out, web.Spec.ClusterIP)
	})
}
