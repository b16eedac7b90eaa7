package connect

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNormalizeServer(t *testing.T) {
	for in, want := range map[string]string{
		"https://tenant-1-vcluster.example.com":  "https://tenant-1-vcluster.example.com",
		"https://tenant-1-vcluster.example.com/": "https://tenant-1-vcluster.example.com",
		"vc.example.com":                         "https://vc.example.com",
		"10.0.0.1:31443":                         "https://10.0.0.1:31443",
		"https://[fd00::1]:443":                  "https://[fd00::1]:443",
	} {
		got, err := normalizeServer(in)
		if err != nil || got != want {
			t.Errorf("normalizeServer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ftp://x", "https://", "https://a b"} {
		if got, err := normalizeServer(bad); err == nil {
			t.Errorf("normalizeServer(%q) = %q, want an error", bad, got)
		}
	}
}

func TestLoadBalancerServer(t *testing.T) {
	lb := func(port int32, in ...corev1.LoadBalancerIngress) *corev1.Service {
		s := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
		if port != 0 {
			s.Spec.Ports = []corev1.ServicePort{{Port: port}}
		}
		s.Status.LoadBalancer.Ingress = in
		return s
	}
	for _, tc := range []struct {
		svc  *corev1.Service
		want string
	}{
		{lb(443, corev1.LoadBalancerIngress{IP: "203.0.113.7"}), "https://203.0.113.7:443"},
		{lb(0, corev1.LoadBalancerIngress{Hostname: "abc.elb.amazonaws.com"}), "https://abc.elb.amazonaws.com:443"},
		{lb(8443, corev1.LoadBalancerIngress{IP: "2001:db8::7"}), "https://[2001:db8::7]:8443"},
		{lb(443), ""},
		{&corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP}}, ""},
	} {
		if got := loadBalancerServer(tc.svc); got != tc.want {
			t.Errorf("loadBalancerServer = %q, want %q", got, tc.want)
		}
	}
}

func TestPickReadyPod(t *testing.T) {
	pod := func(name string, phase corev1.PodPhase, ready, deleting bool) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: phase}}
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
		if deleting {
			now := metav1.NewTime(time.Now())
			p.DeletionTimestamp = &now
		}
		return p
	}
	pods := []corev1.Pod{
		pod("vc-2", corev1.PodRunning, true, false),
		pod("vc-0", corev1.PodRunning, true, true),
		pod("vc-1", corev1.PodRunning, false, false),
		pod("vc-3", corev1.PodRunning, true, false),
	}
	if p := pickReadyPod(pods); p == nil || p.Name != "vc-2" {
		t.Fatalf("picked %v, want vc-2", p)
	}
	if p := pickReadyPod([]corev1.Pod{pod("vc-0", corev1.PodPending, false, false)}); p != nil {
		t.Fatalf("picked %s from no ready pod", p.Name)
	}
}

func TestNsFlag(t *testing.T) {
	if got := nsFlag("vc", "vkube-vc"); got != "" {
		t.Errorf("default namespace: %q", got)
	}
	if got := nsFlag("vc", "team"); got != " -n team" {
		t.Errorf("other namespace: %q", got)
	}
}
