package syncer

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func podWith(mutate func(*corev1.PodSpec)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "web", UID: "uid-1"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.local/hello:v1"}}}}
	if mutate != nil {
		mutate(&p.Spec)
	}
	return p
}

func TestPodSecurityViolation(t *testing.T) {
	privileged := podWith(func(s *corev1.PodSpec) {
		s.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
	})
	hostPath := podWith(func(s *corev1.PodSpec) {
		s.Volumes = []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	})
	hostNet := podWith(func(s *corev1.PodSpec) { s.HostNetwork, s.HostPID = true, true })
	caps := podWith(func(s *corev1.PodSpec) {
		s.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}}
	})
	restrictedOK := podWith(func(s *corev1.PodSpec) {
		s.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
		s.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	})
	for _, tc := range []struct {
		level string
		pod   *corev1.Pod
		want  string // "" means allowed
	}{
		{"", privileged, ""},
		{"privileged", privileged, ""},
		{"baseline", podWith(nil), ""},
		{"baseline", privileged, `violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)`},
		{"baseline", hostPath, `hostPath volumes (volume "root")`},
		{"baseline", hostNet, "host namespaces (hostNetwork=true, hostPID=true)"},
		{"baseline", caps, `non-default capabilities (container "app" must not include "SYS_ADMIN"`},
		{"restricted", podWith(nil), `violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false`},
		{"restricted", restrictedOK, ""},
	} {
		got, err := podSecurityViolation(tc.level, tc.pod)
		if err != nil {
			t.Fatal(err)
		}
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("level %q, pod %+v:\n got %q\nwant %q", tc.level, tc.pod.Spec, got, tc.want)
		}
	}
}

func TestPodSecurityRefusalIsOneEventPerPodAndMessage(t *testing.T) {
	now := metav1.Now()
	bad := podWith(func(s *corev1.PodSpec) {
		s.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
	})
	e := podSecurityRefusal("baseline", bad, now)
	if e == nil {
		t.Fatal("a privileged pod is synced under baseline")
	}
	if e.Namespace != "web" || e.Reason != "PodSecurity" || e.Type != corev1.EventTypeWarning || e.InvolvedObject.Name != "p" || e.InvolvedObject.UID != "uid-1" ||
		!strings.Contains(e.Message, `not synced to the host: violates PodSecurity "baseline:latest": privileged`) {
		t.Errorf("event: %+v", e)
	}
	// The apiserver refuses a second Event of the same name: every reconcile of the same
	// refusal names it alike, another pod (a new UID) or another reason does not.
	if again := podSecurityRefusal("baseline", bad, metav1.Now()); again.Name != e.Name {
		t.Errorf("the same refusal named %q, then %q", e.Name, again.Name)
	}
	recreated := bad.DeepCopy()
	recreated.UID = "uid-2"
	if other := podSecurityRefusal("baseline", recreated, now); other.Name == e.Name {
		t.Errorf("a recreated pod's refusal reuses the name %q", e.Name)
	}
	if other := podSecurityRefusal("restricted", bad, now); other.Name == e.Name {
		t.Errorf("a refusal for another reason reuses the name %q", e.Name)
	}
	long := podWith(nil)
	long.Name = strings.Repeat("a", 253)
	long.Spec.HostNetwork = true
	if n := podSecurityRefusal("baseline", long, now).Name; len(n) > 253 {
		t.Errorf("event name of %d characters", len(n))
	}
	if podSecurityRefusal("baseline", podWith(nil), now) != nil {
		t.Error("a plain pod is refused under baseline")
	}
	if podSecurityRefusal("", bad, now) != nil {
		t.Error("a pod is refused with no level set")
	}
}
