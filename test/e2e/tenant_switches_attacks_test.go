package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vkube.io/vkube/syncer/translate"
)

// hostAdminSwitches: the host admin turns on what the defaults keep off (PriorityClass and
// PersistentVolume sync, a virtual Service mapped into the host namespace) and leaves
// policies.hostAccess at its defaults. What the tenant then writes through those switches is
// still held to the boundary.
func (a *tenant) hostAdminSwitches(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(`sync:
  toHost:
    priorityClasses: {enabled: true}
    persistentVolumes: {enabled: true}
networking:
  replicateServices:
    toHost:
      - from: default/inject
        to: `+a.hostNS+`/inject-mirror
`), 0o600); err != nil {
		t.Fatal(err)
	}
	a.cli.must(ctx, "create", a.name, "--upgrade", "-f", values, "--connect=false")
	waitControlPlaneReady(ctx, t, a.hc, a.hostNS, a.name)
	a.vc = a.client(ctx, t)
	t.Run("PriorityClassClamped", a.priorityClassClamped)
	t.Run("HostPathPersistentVolume", a.hostPathPersistentVolume)
	t.Run("MappedServiceInjection", a.mappedServiceInjection)
}

// ours selects the host objects of this virtual cluster.
func (a *tenant) ours() metav1.ListOptions {
	return metav1.ListOptions{LabelSelector: translate.LabelManagedBy + "=" + a.name}
}

// priorityClassClamped: a PriorityClass of value 1000000 would let the tenant's pods preempt
// everyone's on the host. Its twin keeps the ceiling 0, and the tenant reads why.
func (a *tenant) priorityClassClamped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const value = 1000000
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "tenant-max"}, Value: value, Description: "outranks everyone"}
	pctx, pcancel := context.WithTimeout(ctx, time.Minute)
	poll(pctx, t, "the virtual PriorityClass created", func() bool {
		_, err := a.vc.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err)
	})
	pcancel()
	var twin *schedulingv1.PriorityClass
	pctx, pcancel = context.WithTimeout(ctx, 2*time.Minute)
	poll(pctx, t, "the host twin of PriorityClass tenant-max", func() bool {
		list, err := a.hc.SchedulingV1().PriorityClasses().List(ctx, a.ours())
		if err != nil {
			return false
		}
		for i, h := range list.Items {
			if h.Annotations[translate.AnnotationName] == "tenant-max" {
				twin = &list.Items[i]
				return true
			}
		}
		return false
	})
	pcancel()
	if twin.Value != 0 {
		t.Errorf("host PriorityClass %s has value %d, want it clamped to the ceiling 0", twin.Name, twin.Value)
	}
	// One event names both values: the tenant's and the ceiling it got.
	v := strconv.Itoa(value)
	bothValues := regexp.MustCompile(`\b` + v + `\b.*\b0\b|\b0\b.*\b` + v + `\b`)
	clamped := func() bool {
		evs, err := a.vc.CoreV1().Events(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=tenant-max"})
		if err != nil {
			return false
		}
		for _, e := range evs.Items {
			if e.Reason == "Clamped" && e.Type == corev1.EventTypeWarning && bothValues.MatchString(e.Message) {
				return true
			}
		}
		return false
	}
	if !within(ctx, 30*time.Second, clamped) {
		t.Errorf("no Warning Clamped event naming %d and 0 on the virtual PriorityClass; its events:\n%s", value, eventsOf(ctx, a.vc, metav1.NamespaceDefault, "tenant-max"))
	}
}

// hostPathPersistentVolume: a PersistentVolume of hostPath / would hand the node's root to any
// claim bound to it. It is refused while policies.hostAccess.hostPathVolumes is off.
func (a *tenant) hostPathPersistentVolume(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "host-root"}, Spec: corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}},
	}}
	if _, err := a.vc.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the virtual PersistentVolume: %v", err)
	}
	t.Cleanup(func() {
		_ = a.vc.CoreV1().PersistentVolumes().Delete(context.Background(), "host-root", metav1.DeleteOptions{})
	})
	twin := func() string {
		list, err := a.hc.CoreV1().PersistentVolumes().List(ctx, a.ours())
		if err != nil {
			return ""
		}
		for _, h := range list.Items {
			if h.Annotations[translate.AnnotationName] == "host-root" {
				return h.Name
			}
		}
		return ""
	}
	refused := func() bool {
		return hasEvent(ctx, a.vc, metav1.NamespaceDefault, "host-root", "SyncError", "not synced to the host: ")
	}
	within(ctx, time.Minute, func() bool { return refused() || twin() != "" })
	if name := twin(); name != "" {
		t.Errorf("the tenant's hostPath PersistentVolume of / has host twin %s", name)
	}
	for _, want := range []string{"not synced to the host: ", "hostPath", "policies.hostAccess.hostPathVolumes"} {
		if !hasEvent(ctx, a.vc, metav1.NamespaceDefault, "host-root", "SyncError", want) {
			t.Errorf("no SyncError event naming %q on the virtual PersistentVolume; its events:\n%s", want, eventsOf(ctx, a.vc, metav1.NamespaceDefault, "host-root"))
		}
	}
}

// mappedServiceInjection: the host admin mapped the tenant's Service default/inject into the
// host namespace (networking.replicateServices.toHost). Its endpoints are the tenant's slice of
// EndpointSliceInjection, foreign addresses included; the host mirror gets the tenant's own pod
// only, and the virtual Service says why.
func (a *tenant) mappedServiceInjection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	slice, err := a.vc.DiscoveryV1().EndpointSlices("default").Get(ctx, "inject-1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the tenant's slice of EndpointSliceInjection, which this attack maps: %v", err)
	}
	own, err := a.vc.CoreV1().Pods("default").Get(ctx, "own", metav1.GetOptions{})
	if err != nil || own.Status.PodIP == "" {
		t.Fatalf("the tenant's own pod of EndpointSliceInjection: %v", err)
	}
	var foreign []string
	for _, ip := range sliceAddresses(*slice) {
		if ip != own.Status.PodIP {
			foreign = append(foreign, ip)
		}
	}
	var mirror []string
	pctx, pcancel := context.WithTimeout(ctx, time.Minute)
	poll(pctx, t, "the host mirror of default/inject with the tenant's own pod "+own.Status.PodIP, func() bool {
		list, err := a.hc.DiscoveryV1().EndpointSlices(a.hostNS).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=inject-mirror"})
		if err != nil {
			return false
		}
		mirror = nil
		for _, s := range list.Items {
			mirror = append(mirror, sliceAddresses(s)...)
		}
		return slices.Contains(mirror, own.Status.PodIP)
	})
	pcancel()
	for _, ip := range foreign {
		if slices.Contains(mirror, ip) {
			t.Errorf("host Service %s/inject-mirror routes to %s, not one of the tenant's pods (addresses %v)", a.hostNS, ip, mirror)
		}
		if !within(ctx, 10*time.Second, func() bool {
			return hasEvent(ctx, a.vc, "default", "inject", "SyncError", "not synced to the host: address "+ip)
		}) {
			t.Errorf("no SyncError event naming address %s on the virtual Service default/inject; its events:\n%s", ip, eventsOf(ctx, a.vc, "default", "inject"))
		}
	}
}
