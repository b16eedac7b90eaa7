package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/syncer/translate"
)

// syncerSuite is the syncer's e2e suite on the 3-replica cluster (issue 13): through the API
// Service (any replica may answer) and through each replica's own API server, a workload runs on
// the host with its pod IP, its Service gets the twin's ClusterIP, vkube's DNS resolves it from
// the pod and the pod reaches it, the pod's token is its own, logs, exec and port-forward work,
// a pod the host must not run gets SyncError, and a selectorless Service's slice gets its twin.
func (h haCluster) syncerSuite(ctx context.Context, t *testing.T, c *cli) {
	t.Helper()
	targets := h.replicaConfigs(ctx, t, c)
	targets["api-service"] = serviceConfig(ctx, t, c, h.hc, h.ns, h.name)
	vias := make([]string, 0, len(targets))
	for via := range targets {
		vias = append(vias, via)
	}
	sort.Strings(vias)
	for i, via := range vias {
		h.syncerChecks(ctx, t, via, targets[via], "suite-"+string(rune('a'+i)))
	}
}

func (h haCluster) syncerChecks(ctx context.Context, t *testing.T, via string, cfg *rest.Config, ns string) {
	t.Helper()
	t.Logf("syncer suite through %s, namespace %s", via, ns)
	vc := kubernetes.NewForConfigOrDie(cfg)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	poll(pctx, t, "namespace "+ns+" through "+via, func() bool {
		_, err := vc.CoreV1().Namespaces().Create(pctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err)
	})
	d := helloDeployment("hello", 1)
	// A subdomain gives the pod a line of its own in /etc/hosts, which the chart's helper rewrites.
	d.Spec.Template.Spec.Subdomain = "hello"
	if _, err := vc.AppsV1().Deployments(ns).Create(pctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("Deployment through %s: %v", via, err)
	}
	var pod corev1.Pod
	poll(pctx, t, "the Deployment's pod Running through "+via, func() bool {
		pods, err := vc.CoreV1().Pods(ns).List(pctx, metav1.ListOptions{LabelSelector: "app=hello"})
		if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.Phase != corev1.PodRunning || pods.Items[0].Status.PodIP == "" {
			return false
		}
		pod = pods.Items[0]
		return true
	})
	twin, err := h.hc.CoreV1().Pods(h.ns).Get(pctx, translate.HostName(pod.Name, ns, h.name), metav1.GetOptions{})
	if err != nil || twin.Status.PodIP != pod.Status.PodIP {
		t.Fatalf("through %s: host twin of pod %s: %v (virtual IP %s)", via, pod.Name, err, pod.Status.PodIP)
	}

	hostsLine := pod.Status.PodIP + "\t" + pod.Name + ".hello." + ns + ".svc.cluster.local\t" + pod.Name + "\n"
	if hosts, err := execWith(pctx, cfg, ns, pod.Name, "/hello", "cat", "/etc/hosts"); err != nil || !strings.Contains(hosts, hostsLine) || strings.Contains(hosts, h.ns+".svc") {
		t.Errorf("through %s: /etc/hosts of a pod with a subdomain lacks %q: %v\n%s", via, hostsLine, err, hosts)
	}

	svc, err := vc.CoreV1().Services(ns).Create(pctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "hello"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "hello"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(8080)}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("Service through %s: %v", via, err)
	}
	if hsvc, err := h.hc.CoreV1().Services(h.ns).Get(pctx, translate.HostName("hello", ns, h.name), metav1.GetOptions{}); err != nil || hsvc.Spec.ClusterIP != svc.Spec.ClusterIP {
		t.Fatalf("through %s: host twin of the Service: %v (virtual IP %s)", via, err, svc.Spec.ClusterIP)
	}
	poll(pctx, t, "DNS of the Service from the pod through "+via, func() bool {
		out, err := execWith(pctx, cfg, ns, pod.Name, "/hello", "lookup", "hello."+ns+".svc.cluster.local")
		return err == nil && strings.Contains(out, svc.Spec.ClusterIP)
	})
	for _, network := range []string{"udp", "tcp"} {
		poll(pctx, t, "an A record over "+network+" from the pod through "+via, func() bool {
			out, err := execWith(pctx, cfg, ns, pod.Name, "/hello", "dig", network, "A", "hello."+ns+".svc.cluster.local")
			return err == nil && strings.TrimSpace(out) == "NOERROR\nA "+svc.Spec.ClusterIP
		})
	}
	poll(pctx, t, "the Service from the pod through "+via, func() bool {
		out, err := execWith(pctx, cfg, ns, pod.Name, "/hello", "get", "http://hello/")
		return err == nil && strings.Contains(out, "200 OK")
	})
	if out, err := execWith(pctx, cfg, ns, pod.Name, "/hello", "whoami"); err != nil || !strings.Contains(out, "system:serviceaccount:"+ns+":default") {
		t.Fatalf("through %s: whoami from the pod: %q %v", via, out, err)
	}
	logs, err := vc.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(pctx)
	if err != nil || !strings.Contains(string(logs), "listening") {
		t.Fatalf("through %s: logs: %q %v", via, logs, err)
	}
	if body := portForwardGet(pctx, t, cfg, ns, pod.Name, "/pf"); !strings.Contains(body, "hello from "+pod.Name) {
		t.Fatalf("through %s: port-forward answer %q", via, body)
	}

	refused := helloPod("host-root", func(s *corev1.PodSpec) {
		s.Volumes = []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	})
	if _, err := vc.CoreV1().Pods(ns).Create(pctx, refused, metav1.CreateOptions{}); err != nil {
		t.Fatalf("through %s: %v", via, err)
	}
	poll(pctx, t, "SyncError for a hostPath pod through "+via, func() bool {
		return hasEvent(pctx, vc, ns, "host-root", "SyncError", "not synced to the host: ")
	})

	if _, err := vc.CoreV1().Services(ns).Create(pctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "own"}, Spec: corev1.ServiceSpec{
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt(8080)}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("selectorless Service through %s: %v", via, err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "own-1", Labels: map[string]string{discoveryv1.LabelServiceName: "own", discoveryv1.LabelManagedBy: "tenant.example.com"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080)), Protocol: ptr.To(corev1.ProtocolTCP)}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{pod.Status.PodIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}
	if _, err := vc.DiscoveryV1().EndpointSlices(ns).Create(pctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatalf("EndpointSlice through %s: %v", via, err)
	}
	poll(pctx, t, "the selectorless Service reached from the pod through "+via, func() bool {
		out, err := execWith(pctx, cfg, ns, pod.Name, "/hello", "get", "http://own/")
		return err == nil && strings.Contains(out, "200 OK")
	})
}

// mappedHostService checks that a pod of the suite reaches a host Service through its
// mapServices.fromHost name (after the failovers too, which moved the syncer's Lease).
func (h haCluster) mappedHostService(ctx context.Context, t *testing.T, c *cli, name string) {
	t.Helper()
	cfg := serviceConfig(ctx, t, c, h.hc, h.ns, h.name)
	vc := kubernetes.NewForConfigOrDie(cfg)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// Right after a replica came back, kube-proxy may not route the API Service to it yet.
	var pods *corev1.PodList
	poll(pctx, t, "the suite's pod in suite-a", func() bool {
		var err error
		pods, err = vc.CoreV1().Pods("suite-a").List(pctx, metav1.ListOptions{LabelSelector: "app=hello"})
		return err == nil && len(pods.Items) > 0
	})
	var out string
	var err error
	err = wait.PollUntilContextCancel(pctx, time.Second, true, func(context.Context) (bool, error) {
		out, err = execWith(pctx, cfg, "suite-a", pods.Items[0].Name, "/hello", "get", "http://"+name+"/")
		return err == nil && strings.Contains(out, "200 OK"), nil
	})
	if err != nil {
		for i := range h.replicas {
			pod := fmt.Sprintf("%s-%d", h.name, i)
			logs, _ := h.hc.CoreV1().Pods(h.ns).GetLogs(pod, &corev1.PodLogOptions{TailLines: ptr.To(int64(300))}).DoRaw(ctx)
			for _, l := range strings.Split(string(logs), "\n") {
				if strings.Contains(l, "eplicat") || strings.Contains(l, "echo") || strings.Contains(l, "leader") {
					t.Logf("%s: %s", pod, l)
				}
			}
		}
		t.Fatalf("a virtual pod reaching the host Service mapped to %s: %v (last: %q)", name, err, out)
	}
}
