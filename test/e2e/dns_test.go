package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/syncer/translate"
)

// TestPodDNS is issue 14's DNS check from a virtual pod, over UDP and TCP, side by side with
// what the host's CoreDNS answers a host pod about the same objects' twins: a Service's A and
// SRV records, NODATA for AAAA, NXDOMAIN; and, in the virtual cluster alone, a headless
// Service's pod by hostname and subdomain, a pod's A record, an ExternalName's CNAME, a short
// name through the search path and the pod's own name in its /etc/hosts (dnsRecords). The
// 3-replica cluster runs dnsRecords too (TestHAEmbeddedEtcd).
func TestPodDNS(t *testing.T) {
	v, hc, hostNS := startOnHostWith(t, "dns", "--helper-image", vkubeImage(t))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	vc := v.Client()
	if _, err := hc.AppsV1().Deployments(hostNS).Create(ctx, helloDeployment("probe", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := newDNSRecords(ctx, t, vc, "default")
	probe := runningPod(ctx, t, hc, hostNS, "app=probe")
	hostCfg, err := requireHost(t).RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	onHost := func(ctx context.Context, pod string, cmd ...string) (string, error) {
		return execWith(ctx, hostCfg, hostNS, pod, cmd...)
	}
	// The host's CoreDNS answers about the twin as the virtual cluster's does about the Service.
	twin := translate.HostName("web", "default", "dns") + "." + hostNS + ".svc.cluster.local"
	for _, network := range []string{"udp", "tcp"} {
		for _, q := range serviceQuestions(twin, d.web.Spec.ClusterIP, "missing."+hostNS+".svc.cluster.local") {
			expectDNS(ctx, t, onHost, probe.Name, network, q)
		}
	}
	d.check(ctx, t, func(ctx context.Context, pod string, cmd ...string) (string, error) {
		return execIn(ctx, v, "default", pod, cmd...)
	})
	if hosts, err := execIn(ctx, v, "default", d.peer.Name, "/hello", "cat", "/etc/hosts"); err != nil || strings.Contains(hosts, hostNS) {
		t.Errorf("/etc/hosts of a pod with a subdomain names the host namespace %s: %v\n%s", hostNS, err, hosts)
	}
}

func webService() *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}}}
}

// dnsRecords are virtual objects of every shape the DNS specification gives records to, in one
// namespace: a Service with a named port and its pod (the client the questions come from), a
// headless Service with a pod by hostname and subdomain, and an ExternalName.
type dnsRecords struct {
	ns           string
	web          *corev1.Service
	client, peer corev1.Pod
}

func newDNSRecords(ctx context.Context, t *testing.T, vc kubernetes.Interface, ns string) dnsRecords {
	t.Helper()
	d := dnsRecords{ns: ns}
	var err error
	if d.web, err = vc.CoreV1().Services(ns).Create(ctx, webService(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := vc.AppsV1().Deployments(ns).Create(ctx, helloDeployment("web", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "peers"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "peer"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ext"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "web." + ns + ".svc.cluster.local"}},
	} {
		if _, err := vc.CoreV1().Services(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	peer := helloPod("peer", func(s *corev1.PodSpec) {
		s.Hostname, s.Subdomain = "peer-0", "peers"
		// Burstable: the /etc/hosts helper then runs within its own small limits.
		s.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}
	})
	peer.Labels = map[string]string{"app": "peer"}
	if _, err := vc.CoreV1().Pods(ns).Create(ctx, peer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d.client = runningPod(ctx, t, vc, ns, "app=web")
	d.peer = runningPod(ctx, t, vc, ns, "app=peer")
	return d
}

type dnsQuestion struct{ qtype, name, want string }

// serviceQuestions are the questions about a Service (web, of that ClusterIP) and a missing name
// whose answers the host's CoreDNS gives about the host's own objects of the same shape.
func serviceQuestions(web, clusterIP, missing string) []dnsQuestion {
	return []dnsQuestion{
		{"A", web, "NOERROR\nA " + clusterIP},
		{"SRV", "_http._tcp." + web, "NOERROR\nSRV 0 100 80 " + web + "."},
		{"AAAA", web, "NOERROR"},
		{"A", missing, "NXDOMAIN"},
	}
}

// check asks every record from the client pod over UDP and TCP, a short name through the search
// path, and reads the peer's /etc/hosts: its own line names the virtual namespace.
func (d dnsRecords) check(ctx context.Context, t *testing.T, exec execFunc) {
	t.Helper()
	web := "web." + d.ns + ".svc.cluster.local"
	for _, network := range []string{"udp", "tcp"} {
		questions := append(serviceQuestions(web, d.web.Spec.ClusterIP, "missing."+d.ns+".svc.cluster.local"),
			dnsQuestion{"A", "peer-0.peers." + d.ns + ".svc.cluster.local", "NOERROR\nA " + d.peer.Status.PodIP},
			dnsQuestion{"A", strings.ReplaceAll(d.client.Status.PodIP, ".", "-") + "." + d.ns + ".pod.cluster.local", "NOERROR\nA " + d.client.Status.PodIP},
			dnsQuestion{"A", "ext." + d.ns + ".svc.cluster.local", "NOERROR\nCNAME " + web + ".\nA " + d.web.Spec.ClusterIP})
		for _, q := range questions {
			expectDNS(ctx, t, exec, d.client.Name, network, q)
		}
	}
	// The resolver every program uses, through the pod's search path.
	poll(ctx, t, "web through the search path", func() bool {
		out, err := exec(ctx, d.client.Name, "/hello", "lookup", "web")
		return err == nil && strings.Contains(out, d.web.Spec.ClusterIP)
	})
	line := d.peer.Status.PodIP + "\tpeer-0.peers." + d.ns + ".svc.cluster.local\tpeer-0\n"
	if hosts, err := exec(ctx, d.peer.Name, "/hello", "cat", "/etc/hosts"); err != nil || !strings.Contains(hosts, line) {
		t.Errorf("/etc/hosts of a pod with a subdomain lacks %q: %v\n%s", line, err, hosts)
	}
}

// expectDNS asks one question from pod until the answer is the one wanted.
func expectDNS(ctx context.Context, t *testing.T, exec execFunc, pod, network string, q dnsQuestion) {
	t.Helper()
	var out string
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_ = wait.PollUntilContextCancel(pctx, 500*time.Millisecond, true, func(context.Context) (bool, error) {
		o, err := exec(ctx, pod, "/hello", "dig", network, q.qtype, q.name)
		out = strings.TrimSpace(o)
		return err == nil && out == q.want, nil
	})
	if out != q.want {
		t.Errorf("%s %s over %s: %q, want %q", q.qtype, q.name, network, out, q.want)
	}
}
