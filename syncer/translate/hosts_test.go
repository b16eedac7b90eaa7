package translate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vkube.io/vkube/syncer/translate/hostsfile"
)

func subdomainPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "team", UID: "u-1"},
		Spec: corev1.PodSpec{Hostname: "web-0", Subdomain: "web",
			InitContainers: []corev1.Container{{Name: "setup", Image: "busybox"}},
			Containers: []corev1.Container{{Name: "app", Image: "hello"},
				{Name: "own", Image: "hello", VolumeMounts: []corev1.VolumeMount{{Name: "mine", MountPath: "/etc/hosts"}}}},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox"}}},
			Volumes:             []corev1.Volume{{Name: "mine", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
		Status: corev1.PodStatus{QOSClass: corev1.PodQOSBurstable},
	}
}

func hostsPod() Pod {
	return Pod{Context: Context{VCluster: "vc", HostNamespace: "host-ns"}, HostsImage: "ghcr.io/vkube/vkube:1", ClusterDomain: "cluster.local"}
}

// A pod with a subdomain gets the helper first; every container but an ephemeral one or one with
// its own /etc/hosts mounts the helper's file.
func TestHostPodRewritesHostsOfSubdomainPods(t *testing.T) {
	h, err := hostsPod().HostPod(subdomainPod())
	if err != nil {
		t.Fatal(err)
	}
	s := h.Spec
	if len(s.InitContainers) != 2 || s.InitContainers[0].Name != HostsHelper || s.InitContainers[1].Name != "setup" {
		t.Fatalf("init containers %v, want the helper then setup", s.InitContainers)
	}
	helper := s.InitContainers[0]
	want := []string{"--from", "web-0.web.host-ns.svc.", "--to", "web-0.web.team.svc.cluster.local", "--out", "/vkube-hosts/hosts"}
	if helper.Image != "ghcr.io/vkube/vkube:1" || len(helper.Command) != 1 || helper.Command[0] != hostsfile.HelperPath ||
		strings.Join(helper.Args, " ") != strings.Join(want, " ") || len(helper.Env) != 0 {
		t.Errorf("helper %s %q %q env %v, want %s %q and no env", helper.Image, helper.Command, helper.Args, helper.Env, hostsfile.HelperPath, want)
	}
	mountsHosts := func(c corev1.Container) bool {
		for _, m := range c.VolumeMounts {
			if m.Name == HostsHelper && m.MountPath == "/etc/hosts" && m.SubPath == "hosts" && m.ReadOnly {
				return true
			}
		}
		return false
	}
	for _, c := range []corev1.Container{s.InitContainers[1], s.Containers[0]} {
		if !mountsHosts(c) {
			t.Errorf("container %s does not mount the helper's hosts: %v", c.Name, c.VolumeMounts)
		}
	}
	// The API forbids an ephemeral container a subPath mount.
	if m := s.EphemeralContainers[0].VolumeMounts; len(m) != 0 {
		t.Errorf("ephemeral container mounts %v", m)
	}
	if own := s.Containers[1]; len(own.VolumeMounts) != 1 || own.VolumeMounts[0].Name != "mine" {
		t.Errorf("a container's own /etc/hosts was replaced: %v", own.VolumeMounts)
	}
	if last := s.Volumes[len(s.Volumes)-1]; last.Name != HostsHelper || last.EmptyDir == nil {
		t.Errorf("volumes %v lack the helper's emptyDir", s.Volumes)
	}
}

func TestHostPodRewritesHostsOnlyWhenNeeded(t *testing.T) {
	for name, change := range map[string]func(*Pod, *corev1.Pod){
		"no subdomain":                     func(_ *Pod, v *corev1.Pod) { v.Spec.Subdomain = "" },
		"host network":                     func(_ *Pod, v *corev1.Pod) { v.Spec.HostNetwork = true },
		"no image configured":              func(p *Pod, _ *corev1.Pod) { p.HostsImage = "" },
		"tenant's volume took the name":    func(_ *Pod, v *corev1.Pod) { v.Spec.Volumes[0].Name = HostsHelper },
		"tenant's container took the name": func(_ *Pod, v *corev1.Pod) { v.Spec.InitContainers[0].Name = HostsHelper },
		"tenant's debugger took the name":  func(_ *Pod, v *corev1.Pod) { v.Spec.EphemeralContainers[0].Name = HostsHelper },
	} {
		p, v := hostsPod(), subdomainPod()
		change(&p, v)
		h, err := p.HostPod(v)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Spec.InitContainers) != 1 || h.Spec.InitContainers[0].Image == p.HostsImage || len(h.Spec.Containers[0].VolumeMounts) != 0 {
			t.Errorf("%s: helper added: %v %v", name, h.Spec.InitContainers, h.Spec.Containers[0].VolumeMounts)
		}
	}
}

// The helper keeps the pod's QoS class: BestEffort stays BestEffort, a Guaranteed pod needs
// requests equal to limits in every container.
func TestHostsHelperKeepsQOSClass(t *testing.T) {
	for _, qos := range []corev1.PodQOSClass{corev1.PodQOSBestEffort, corev1.PodQOSBurstable, corev1.PodQOSGuaranteed} {
		v := subdomainPod()
		v.Status.QOSClass = qos
		h, err := hostsPod().HostPod(v)
		if err != nil {
			t.Fatal(err)
		}
		r := h.Spec.InitContainers[0].Resources
		if qos == corev1.PodQOSBestEffort {
			if len(r.Requests)+len(r.Limits) != 0 {
				t.Errorf("BestEffort pod's helper asks for %v", r)
			}
			continue
		}
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, lim := r.Requests[name], r.Limits[name]
			if req.IsZero() || !req.Equal(lim) {
				t.Errorf("%s pod's helper %s: request %s limit %s, want equal and set", qos, name, req.String(), lim.String())
			}
		}
	}
}
