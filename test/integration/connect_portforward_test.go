package integration

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/cli/connect"
)

// connectPendingLoadBalancer: connect waits its minute for the load balancer, then says it
// falls back to a port-forward (which needs the StatefulSet this cluster lacks).
func connectPendingLoadBalancer(t *testing.T, h *connectHost) {
	h.addVirtualCluster(t, "pending", "vkube-pending")
	mustCreate(t, h.c.CoreV1().Services("vkube-pending").Create, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "pending"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 443}}}})
	_, errOut, err := h.run(t, h.hostKubeconfig(t), connect.Options{Name: "pending", Print: true, ReadyTimeout: time.Second})
	if !strings.Contains(errOut, "has no load-balancer address yet; using a port-forward instead") {
		t.Fatalf("output: %s", errOut)
	}
	if err == nil || !strings.Contains(err.Error(), "has no StatefulSet pending") {
		t.Fatalf("got %v, want the port-forward's refusal", err)
	}
}

// statefulSet is the host StatefulSet of virtual cluster name, as far as connect reads it; with
// no node to run them, its pods stay Pending.
func statefulSet(name string, replicas int32) *appsv1.StatefulSet {
	labels := map[string]string{"app.kubernetes.io/name": "vkube", "app.kubernetes.io/instance": name}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "vkube", Image: "registry.invalid/vkube:test"}}},
			},
		},
	}
}

func connectPortForwardRefusals(t *testing.T, h *connectHost) {
	const ns = "team"
	h.addVirtualCluster(t, "vc", ns)
	path := h.hostKubeconfig(t)
	statefulSets := h.c.AppsV1().StatefulSets(ns)
	for _, step := range []struct {
		desc  string
		setup func(*testing.T)
		want  string
	}{
		{"no StatefulSet", func(*testing.T) {}, "has no StatefulSet vc"},
		{"paused", func(t *testing.T) { mustCreate(t, statefulSets.Create, statefulSet("vc", 0)) }, "virtual cluster vc in namespace team is paused (vkube resume vc -n team)"},
		{"not ready", func(t *testing.T) {
			sts, err := statefulSets.Get(t.Context(), "vc", metav1.GetOptions{})
			if err == nil {
				sts.Spec.Replicas = ptr.To[int32](1)
				_, err = statefulSets.Update(t.Context(), sts, metav1.UpdateOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
		}, "no ready pod of virtual cluster vc in namespace team"},
	} {
		step.setup(t)
		_, _, err := h.run(t, path, connect.Options{Name: "vc", Namespace: ns, ReadyTimeout: 3 * time.Second})
		if err == nil || !strings.Contains(err.Error(), step.want) {
			t.Fatalf("%s: got %v, want %q", step.desc, err, step.want)
		}
	}
}
