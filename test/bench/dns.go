package main

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/syncer/translate"
	"vkube.io/vkube/test/framework"
	"vkube.io/vkube/test/images"
)

// dnsQueries is how many A questions each side asks per round, dnsRounds the rounds per
// protocol.
const (
	dnsQueries = 20000
	dnsRounds  = 5
)

// dnsResult is issue 14's DNS figure: A questions per second from one pod, over UDP and TCP, to
// the virtual cluster's DNS about a virtual Service, and to the host's CoreDNS about its twin.
type dnsResult struct {
	Queries, Rounds         int
	VkubeUDP, VkubeTCP      float64
	HostUDP, HostTCP        float64
	VkubeErrors, HostErrors int
}

// dns measures it on cluster c: a Service and a hello pod in the virtual cluster, and a hello pod
// in the host namespace asking the host's CoreDNS for the Service's twin.
func (s *syncRun) dns(ctx context.Context, c *syncCluster) (*dnsResult, error) {
	const ns = "dnsbench"
	if err := c.virtualNamespace(ctx, ns); err != nil {
		return nil, err
	}
	vpod, err := dnsClient(ctx, c.vc, ns, "dnsbench")
	if err != nil {
		return nil, fmt.Errorf("virtual: %w", err)
	}
	// Its own name on the host: the virtual pod's twin there carries the virtual labels.
	hpod, err := dnsClient(ctx, s.hc, c.name, "dnsprobe")
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	r := &dnsResult{Queries: dnsQueries, Rounds: dnsRounds}
	virtualName := "dnsbench." + ns + ".svc.cluster.local"
	twin := translate.HostName("dnsbench", ns, c.name) + "." + c.name + ".svc.cluster.local"
	type side struct {
		cfg    *rest.Config
		ns     string
		pod    string
		name   string
		errors *int
	}
	vk, host := side{c.v.cfg, ns, vpod, virtualName, &r.VkubeErrors}, side{s.hcfg, c.name, hpod, twin, &r.HostErrors}
	ask := func(sd side, network string, n int) (float64, error) {
		out, err := framework.Exec(ctx, sd.cfg, sd.ns, sd.pod, "hello", "/hello", "dnsbench", network, sd.name, fmt.Sprint(n))
		if err != nil {
			return 0, err
		}
		var qps float64
		var errs int
		if _, err := fmt.Sscanf(out, "qps %f errors %d", &qps, &errs); err != nil {
			return 0, fmt.Errorf("dnsbench output %q: %w", out, err)
		}
		*sd.errors += errs
		return qps, nil
	}
	// One round is under a second: the median of alternating rounds (each side first in turn,
	// after a warm-up of both caches and connections) is the figure, not one noisy sample.
	for _, q := range []struct {
		network       string
		vkube, hostFn *float64
	}{{"udp", &r.VkubeUDP, &r.HostUDP}, {"tcp", &r.VkubeTCP, &r.HostTCP}} {
		for _, sd := range []side{vk, host} {
			if _, err := ask(sd, q.network, dnsQueries/10); err != nil {
				return nil, err
			}
		}
		var vs, hs []float64
		for i := range dnsRounds {
			order := []side{vk, host}
			if i%2 == 1 {
				order = []side{host, vk}
			}
			for _, sd := range order {
				v, err := ask(sd, q.network, dnsQueries)
				if err != nil {
					return nil, err
				}
				if sd.pod == vpod {
					vs = append(vs, v)
				} else {
					hs = append(hs, v)
				}
			}
		}
		*q.vkube, *q.hostFn = medianOf(vs), medianOf(hs)
	}
	progress("dns: A questions/s from one pod: vkube UDP %.0f TCP %.0f, host CoreDNS UDP %.0f TCP %.0f", r.VkubeUDP, r.VkubeTCP, r.HostUDP, r.HostTCP)
	return r, nil
}

// dnsClient runs the Service name and a hello pod behind it in ns, and returns the pod's name
// once it runs.
func dnsClient(ctx context.Context, cs kubernetes.Interface, ns, name string) (string, error) {
	labels := map[string]string{"app": name}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{
		Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "hello", Image: images.Hello.Ref, ImagePullPolicy: corev1.PullIfNotPresent}}}}}}, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	var pod string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil || len(pods.Items) == 0 || pods.Items[0].Status.Phase != corev1.PodRunning {
			return false, nil
		}
		pod = pods.Items[0].Name
		return true, nil
	})
	return pod, err
}

// dnsRows renders the DNS figure: vkube's DNS against the host's CoreDNS, target ≥ 1×.
func (x *syncResult) dnsRows() []row {
	var out []row
	for _, p := range []struct{ net string }{{"UDP"}, {"TCP"}} {
		rw := row{Figure: "DNS A questions/s from one pod, " + p.net + ", 8 clients: vkube's DNS vs the host's CoreDNS", Vkube: "failed", Bare: "—", Ratio: "—", Target: "≥ 1×"}
		switch {
		case x.Unavailable != "":
			rw.Vkube = "n/a (" + x.Unavailable + ")"
		case x.DNS != nil:
			v, h := x.DNS.VkubeUDP, x.DNS.HostUDP
			if p.net == "TCP" {
				v, h = x.DNS.VkubeTCP, x.DNS.HostTCP
			}
			rw.Figure = fmt.Sprintf("DNS A questions/s from one pod, %s, median of %d alternating rounds of %d questions from 8 clients (errors: vkube %d, host %d): vkube's DNS vs the host's CoreDNS",
				p.net, max(x.DNS.Rounds, 1), x.DNS.Queries, x.DNS.VkubeErrors, x.DNS.HostErrors)
			rw.Vkube, rw.Bare = fmt.Sprintf("%.0f", v), fmt.Sprintf("%.0f", h)
			if h > 0 {
				rw.Ratio = fmt.Sprintf("%.2f×", v/h)
				rw.Target = verdict("≥ 1×", v >= h)
			}
		}
		out = append(out, rw)
	}
	return out
}
