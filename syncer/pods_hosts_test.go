package syncer

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vkube.io/vkube/syncer/translate"
)

func restrictedSubdomainPod() *corev1.Pod {
	sc := &corev1.SecurityContext{RunAsNonRoot: new(true), AllowPrivilegeEscalation: new(false),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "team", UID: "u-1"},
		Spec: corev1.PodSpec{Hostname: "web-0", Subdomain: "web",
			Containers: []corev1.Container{{Name: "app", Image: "hello", SecurityContext: sc}}}}
}

// The helper must not cost the tenant's pod its place in a restricted host namespace.
func TestHostsHelperMeetsRestricted(t *testing.T) {
	p := translate.Pod{Context: translate.Context{VCluster: "vc", HostNamespace: "host-ns"}, HostsImage: "vkube:1", ClusterDomain: "cluster.local"}
	h, err := p.HostPod(restrictedSubdomainPod())
	if err != nil {
		t.Fatal(err)
	}
	if h.Spec.InitContainers[0].Name != translate.HostsHelper {
		t.Fatalf("no helper: %v", h.Spec.InitContainers)
	}
	if msg, err := podSecurityViolation("restricted", "", h); err != nil || msg != "" {
		t.Errorf("host pod with the helper violates restricted: %s %v", msg, err)
	}
}

// The helper's status and mount stay on the host: the virtual pod has no such container (the
// virtual API refuses a status naming one).
func TestStatusBackDropsHostsHelper(t *testing.T) {
	v := restrictedSubdomainPod()
	h := v.DeepCopy()
	h.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: translate.HostsHelper, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}}}
	h.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true, VolumeMounts: []corev1.VolumeMountStatus{
		{Name: translate.HostsHelper, MountPath: "/etc/hosts"}, {Name: "data", MountPath: "/data"}}}}
	back := statusBack(h, v)
	if back == nil {
		t.Fatal("no status back")
	}
	if len(back.Status.InitContainerStatuses) != 0 {
		t.Errorf("helper status copied: %v", back.Status.InitContainerStatuses)
	}
	if m := back.Status.ContainerStatuses[0].VolumeMounts; len(m) != 1 || m[0].Name != "data" {
		t.Errorf("mounts %v, want only data", m)
	}
	if len(h.Status.InitContainerStatuses) != 1 {
		t.Error("statusBack changed the host pod")
	}
	// A tenant's own init container of the name (its pod then has no helper) keeps its status.
	v.Spec.InitContainers = []corev1.Container{{Name: translate.HostsHelper, Image: "busybox"}}
	if back := statusBack(h, v); back == nil || len(back.Status.InitContainerStatuses) != 1 {
		t.Errorf("the tenant's own %s status dropped", translate.HostsHelper)
	}
}

// A host pod made before the helper existed has none: images are matched by name.
func TestPodUpdateMatchesContainersByName(t *testing.T) {
	live := &corev1.Pod{Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "setup", Image: "busybox:1"}},
		Containers: []corev1.Container{{Name: "app", Image: "hello:1"}}}}
	desired := live.DeepCopy()
	desired.Spec.InitContainers = append([]corev1.Container{{Name: translate.HostsHelper, Image: "vkube:1"}}, corev1.Container{Name: "setup", Image: "busybox:2"})
	desired.Spec.Containers[0].Image = "hello:2"
	u := pods{}.forUpdateObject(desired, live).(*corev1.Pod)
	if len(u.Spec.InitContainers) != 1 || u.Spec.InitContainers[0].Image != "busybox:2" || u.Spec.Containers[0].Image != "hello:2" {
		t.Errorf("update %v %v", u.Spec.InitContainers, u.Spec.Containers)
	}
}
