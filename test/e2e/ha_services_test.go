package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"vkube.io/vkube/syncer/translate"
	"vkube.io/vkube/test/framework"
)

// replicaClients are clients of each replica's own API server (its pod IP), so a request cannot
// land on another replica: the write path must work through every one of them.
func (h haCluster) replicaClients(ctx context.Context, t *testing.T, c *cli) map[string]kubernetes.Interface {
	t.Helper()
	clients := map[string]kubernetes.Interface{}
	for pod, rc := range h.replicaConfigs(ctx, t, c) {
		clients[pod] = kubernetes.NewForConfigOrDie(rc)
	}
	return clients
}

// replicaConfigs are the REST configs of each replica's own API server.
func (h haCluster) replicaConfigs(ctx context.Context, t *testing.T, c *cli) map[string]*rest.Config {
	t.Helper()
	out := c.must(ctx, "connect", h.name, "--print", "--server", "https://"+h.name+"."+h.ns+".svc:443")
	kubeconfig := filepath.Join(t.TempDir(), h.name+"-replicas.kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(out[strings.Index(out, "apiVersion"):]), 0o600); err != nil {
		t.Fatal(err)
	}
	configs := map[string]*rest.Config{}
	for i := 0; i < h.replicas; i++ {
		pod := fmt.Sprintf("%s-%d", h.name, i)
		p, err := h.hc.CoreV1().Pods(h.ns).Get(ctx, pod, metav1.GetOptions{})
		if err != nil || p.Status.PodIP == "" {
			t.Fatalf("replica %s has no IP: %v", pod, err)
		}
		rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		// Dial the pod, verify the certificate for the Service name it is issued to.
		rc.Host = "https://" + net.JoinHostPort(p.Status.PodIP, "8443")
		rc.TLSClientConfig.ServerName = h.name + "." + h.ns + ".svc"
		rc.Timeout = 15 * time.Second
		configs[pod] = rc
	}
	return configs
}

// servicesThroughEveryReplica creates a Service through each replica's own API server and
// checks that each got its host twin's ClusterIP: every replica's API server reaches a working
// Service webhook, not only the one that registered it last.
func (h haCluster) servicesThroughEveryReplica(ctx context.Context, t *testing.T, c *cli, round string) {
	t.Helper()
	for pod, vc := range h.replicaClients(ctx, t, c) {
		name := "via-" + round + "-" + pod[len(h.name)+1:]
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(8080)}}}}
		var created *corev1.Service
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		poll(pctx, t, "a Service created through replica "+pod, func() bool {
			var err error
			created, err = vc.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
			if err != nil {
				t.Logf("create through %s: %v", pod, err)
			}
			return err == nil
		})
		cancel()
		twin, err := h.hc.CoreV1().Services(h.ns).Get(ctx, translate.HostName(name, "default", h.name), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("Service %s created through %s has no host twin: %v", name, pod, err)
		}
		if created.Spec.ClusterIP == "" || created.Spec.ClusterIP != twin.Spec.ClusterIP {
			t.Fatalf("Service %s created through %s: virtual ClusterIP %q, host twin %q", name, pod, created.Spec.ClusterIP, twin.Spec.ClusterIP)
		}
	}
}

// serviceTwinsMatch checks the Services a writer created through failovers: every acknowledged
// Service has its host twin with the same ClusterIP, and no host twin in the writer's namespace
// is left without its virtual Service (a twin made by a webhook call whose create then failed).
func (h haCluster) serviceTwinsMatch(ctx context.Context, t *testing.T, w *framework.Writer, namespace string) {
	t.Helper()
	acked := w.Services()
	for _, s := range acked {
		twin, err := h.hc.CoreV1().Services(h.ns).Get(ctx, translate.HostName(s.Name, namespace, h.name), metav1.GetOptions{})
		if err != nil {
			t.Errorf("acknowledged Service %s has no host twin: %v", s.Name, err)
			continue
		}
		if twin.Spec.ClusterIP != s.ClusterIP {
			t.Errorf("acknowledged Service %s has ClusterIP %s, its host twin %s", s.Name, s.ClusterIP, twin.Spec.ClusterIP)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var orphans []string
	poll(pctx, t, "no host twin without its virtual Service", func() bool {
		twins, err := h.hc.CoreV1().Services(h.ns).List(ctx, metav1.ListOptions{LabelSelector: translate.LabelManagedBy + "=" + h.name})
		if err != nil {
			return false
		}
		orphans = nil
		for _, twin := range twins.Items {
			if twin.Annotations[translate.AnnotationNamespace] != namespace {
				continue
			}
			name := twin.Annotations[translate.AnnotationName]
			if _, err := h.vc.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				orphans = append(orphans, name)
			}
		}
		if len(orphans) > 0 {
			t.Logf("host twins without a virtual Service (the syncer may still be removing them): %v", orphans)
		}
		return len(orphans) == 0
	})
	t.Logf("%d acknowledged Services, each with its host twin and ClusterIP; no orphaned twin", len(acked))
}
