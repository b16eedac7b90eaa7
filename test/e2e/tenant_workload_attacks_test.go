package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/syncer/translate"
)

const podSecurityKey = "policies.hostAccess.podSecurityStandard"

// twinNameCollision: pod a-x-b in namespace c and pod a in namespace b-x-c would both be
// a-x-b-x-c-x-NAME on the host under a name-only translation. Each must get a twin of its own,
// and deleting one must leave the other's twin as it was (not deleted and recreated).
func (a *tenant) twinNameCollision(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pods := []struct{ ns, name string }{{"c", "a-x-b"}, {"b-x-c", "a"}}
	for _, p := range pods {
		if _, err := a.vc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	// The default ServiceAccount a pod needs appears a moment after its namespace.
	for _, p := range pods {
		p := p
		pctx, pcancel := context.WithTimeout(ctx, time.Minute)
		poll(pctx, t, "virtual pod "+p.ns+"/"+p.name+" created", func() bool {
			_, err := a.vc.CoreV1().Pods(p.ns).Create(ctx, helloPod(p.name, nil), metav1.CreateOptions{})
			return err == nil || apierrors.IsAlreadyExists(err)
		})
		pcancel()
	}
	running := func(ns, name string) *corev1.Pod {
		twins := a.hostPodTwins(ctx, ns, name)
		if len(twins) == 1 && twins[0].Status.Phase == corev1.PodRunning && twins[0].DeletionTimestamp == nil {
			return &twins[0]
		}
		return nil
	}
	if !within(ctx, 2*time.Minute, func() bool { return running("c", "a-x-b") != nil && running("b-x-c", "a") != nil }) {
		all, _ := a.hc.CoreV1().Pods(a.hostNS).List(ctx, metav1.ListOptions{LabelSelector: translate.LabelManagedBy + "=" + a.name})
		var names []string
		for _, p := range pods {
			v, err := a.vc.CoreV1().Pods(p.ns).Get(ctx, p.name, metav1.GetOptions{})
			if err == nil {
				names = append(names, p.ns+"/"+p.name+" "+string(v.Status.Phase)+" events: "+eventsOf(ctx, a.vc, p.ns, p.name))
			}
		}
		t.Fatalf("pods c/a-x-b and b-x-c/a should each run on the host under a twin of its own; host pods: %s\nvirtual: %s",
			describePods(all.Items), strings.Join(names, "\n"))
	}
	kept := running("b-x-c", "a")
	if gone := running("c", "a-x-b"); kept == nil || gone == nil || gone.Name == kept.Name {
		t.Fatalf("both virtual pods should keep a running twin of their own: %v and %v", kept, gone)
	}

	if err := a.vc.CoreV1().Pods("c").Delete(ctx, "a-x-b", metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, time.Minute)
	poll(pctx, t, "the host twin of c/a-x-b gone", func() bool { return len(a.hostPodTwins(ctx, "c", "a-x-b")) == 0 })
	pcancel()
	// The twin of the other must stay the very pod it was, not one the syncer makes anew.
	if within(ctx, 10*time.Second, func() bool {
		h, err := a.hc.CoreV1().Pods(a.hostNS).Get(ctx, kept.Name, metav1.GetOptions{})
		return err != nil || h.UID != kept.UID || h.DeletionTimestamp != nil
	}) {
		h, err := a.hc.CoreV1().Pods(a.hostNS).Get(ctx, kept.Name, metav1.GetOptions{})
		t.Errorf("deleting c/a-x-b took down the twin %s (uid %s) of b-x-c/a: now %v %v", kept.Name, kept.UID, err, h.GetUID())
	}
}

// podSecurity: pods that would leave the host namespace for the node. Under the default
// baseline level each is refused before its host create: a SyncError event on the virtual pod
// naming the field and the host admin's key, and no twin. The host namespace enforces the same
// level itself.
func (a *tenant) podSecurity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if ns, err := a.hc.CoreV1().Namespaces().Get(ctx, a.hostNS, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	} else if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != "baseline" {
		t.Errorf("host namespace %s: pod-security.kubernetes.io/enforce=%q, want baseline", a.hostNS, got)
	}
	sc := func(s *corev1.SecurityContext) func(*corev1.PodSpec) {
		return func(p *corev1.PodSpec) { p.Containers[0].SecurityContext = s }
	}
	attacks := []struct {
		name, field string
		mutate      func(*corev1.PodSpec)
	}{
		{"privileged", "spec.containers[0].securityContext.privileged", sc(&corev1.SecurityContext{Privileged: ptr.To(true)})},
		{"host-root", "spec.volumes[0].hostPath", func(p *corev1.PodSpec) {
			p.Volumes = []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
			p.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "root", MountPath: "/host"}}
		}},
		{"host-network", "spec.hostNetwork", func(p *corev1.PodSpec) { p.HostNetwork = true }},
		{"host-pid", "spec.hostPID", func(p *corev1.PodSpec) { p.HostPID = true }},
		{"host-ipc", "spec.hostIPC", func(p *corev1.PodSpec) { p.HostIPC = true }},
		{"net-admin", "spec.containers[0].securityContext.capabilities.add", sc(&corev1.SecurityContext{
			Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}}})},
	}
	var names []string
	for _, at := range attacks {
		a.createPod(ctx, t, "default", helloPod(at.name, at.mutate))
		names = append(names, at.name)
	}
	// Where the attack works, these run on the node: gone before the next attack.
	t.Cleanup(func() { a.deleteVirtualPods(t, "default", names...) })
	for _, at := range attacks {
		at := at
		t.Run(at.name, func(t *testing.T) {
			refused := func() bool {
				return hasEvent(ctx, a.vc, "default", at.name, "SyncError", "not synced to the host: ")
			}
			// Either outcome shows within a minute: the refusal, or a twin on the host.
			within(ctx, time.Minute, func() bool { return refused() || len(a.hostPodTwins(ctx, "default", at.name)) > 0 })
			if twins := a.hostPodTwins(ctx, "default", at.name); len(twins) > 0 {
				t.Errorf("the %s pod has a host twin: %s", at.name, describePods(twins))
			}
			for _, want := range []string{"not synced to the host: ", at.field, podSecurityKey} {
				if !hasEvent(ctx, a.vc, "default", at.name, "SyncError", want) {
					t.Errorf("no SyncError event naming %q on virtual pod %s; its events:\n%s", want, at.name, eventsOf(ctx, a.vc, "default", at.name))
				}
			}
		})
	}
	// Whatever the names: no synced pod on the host is privileged or reaches into the node.
	synced, err := a.hc.CoreV1().Pods(a.hostNS).List(ctx, metav1.ListOptions{LabelSelector: translate.LabelManagedBy + "=" + a.name})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range synced.Items {
		if why := nodeReach(p.Spec); why != "" {
			t.Errorf("host pod %s (virtual %s/%s): %s", p.Name, p.Annotations[translate.AnnotationNamespace], p.Annotations[translate.AnnotationName], why)
		}
	}
}

// nodeReach says how a host pod spec reaches past its namespace onto the node, "" if it does not.
func nodeReach(s corev1.PodSpec) string {
	var why []string
	if s.HostNetwork || s.HostPID || s.HostIPC {
		why = append(why, "host namespaces")
	}
	for _, v := range s.Volumes {
		if v.HostPath != nil {
			why = append(why, "hostPath "+v.HostPath.Path)
		}
	}
	for _, c := range append(append([]corev1.Container{}, s.InitContainers...), s.Containers...) {
		if c.SecurityContext == nil {
			continue
		}
		if ptr.Deref(c.SecurityContext.Privileged, false) {
			why = append(why, "privileged container "+c.Name)
		}
		if c.SecurityContext.Capabilities != nil && len(c.SecurityContext.Capabilities.Add) > 0 {
			why = append(why, "added capabilities on "+c.Name)
		}
	}
	return strings.Join(why, ", ")
}
