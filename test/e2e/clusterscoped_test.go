package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/syncer/translate"
	"vkube.io/vkube/test/images"
)

// TestClusterScoped is issue 3's optional cluster-scoped kinds, all enabled in one vkube: a
// virtual PriorityClass, StorageClass and hostPath PersistentVolume get host twins under
// translated names (the pod, claim and volume that name them are rewritten), the host's
// StorageClass is shared into the virtual cluster, and deleting the virtual objects deletes the
// twins.
func TestClusterScoped(t *testing.T) {
	const name = "clusterscoped"
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(`sync:
  toHost:
    pods: {useSecretsForSATokens: true}
    priorityClasses: {enabled: true}
    storageClasses: {enabled: true}
    persistentVolumes: {enabled: true}
  fromHost:
    storageClasses: {enabled: true}
policies:
  hostAccess: {hostPathVolumes: true, maxPriorityClassValue: 500}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	v, hc, hostNS := startOnHostWith(t, name, "-f", values)
	// Cluster-scoped twins outlive the host namespace: stop vkube (so nothing recreates them),
	// then remove whatever is left.
	t.Cleanup(func() {
		v.Stop()
		deleteClusterScopedTwins(t, hc, name)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	vc := v.Client()

	poll(ctx, t, "the host StorageClass standard shared into the virtual cluster", func() bool {
		sc, err := vc.StorageV1().StorageClasses().Get(ctx, "standard", metav1.GetOptions{})
		return err == nil && sc.Labels[translate.LabelFromHost] == "true" && sc.Provisioner == "vkube.io/host-path"
	})

	// The copy is read-only in effect: a tenant's edit is undone.
	std, err := vc.StorageV1().StorageClasses().Get(ctx, "standard", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	std.Labels["tenant"] = "edit"
	if _, err := vc.StorageV1().StorageClasses().Update(ctx, std, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the tenant's edit of the shared class undone", func() bool {
		sc, err := vc.StorageV1().StorageClasses().Get(ctx, "standard", metav1.GetOptions{})
		return err == nil && sc.Labels["tenant"] == "" && sc.Labels[translate.LabelFromHost] == "true"
	})

	// A host class that is no virtual cluster's is shared while it exists.
	shared := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "e2e-shared-" + name}, Provisioner: "kubernetes.io/no-provisioner"}
	if _, err := hc.StorageV1().StorageClasses().Create(ctx, shared, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = hc.StorageV1().StorageClasses().Delete(context.Background(), shared.Name, metav1.DeleteOptions{})
	})
	poll(ctx, t, "the host StorageClass "+shared.Name+" shared", func() bool {
		_, err := vc.StorageV1().StorageClasses().Get(ctx, shared.Name, metav1.GetOptions{})
		return err == nil
	})
	if err := hc.StorageV1().StorageClasses().Delete(ctx, shared.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the copy of "+shared.Name+" gone with the host class", func() bool {
		_, err := vc.StorageV1().StorageClasses().Get(ctx, shared.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})

	// A host object of the twin's name that vkube does not own is left alone, and the tenant told.
	clash := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: translate.HostClusterScopedName("clash", hostNS, name)}, Value: 7}
	if _, err := hc.SchedulingV1().PriorityClasses().Create(ctx, clash, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = hc.SchedulingV1().PriorityClasses().Delete(context.Background(), clash.Name, metav1.DeleteOptions{})
	})
	if _, err := vc.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "clash"}, Value: 9}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "a NameConflict event on the virtual PriorityClass", func() bool {
		evs, err := vc.CoreV1().Events(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=clash,reason=NameConflict"})
		return err == nil && len(evs.Items) > 0
	})
	if h, err := hc.SchedulingV1().PriorityClasses().Get(ctx, clash.Name, metav1.GetOptions{}); err != nil || h.Value != 7 || h.Labels[translate.LabelManagedBy] != "" {
		t.Fatalf("the host's own class touched: %+v %v", h, err)
	}
	if err := vc.SchedulingV1().PriorityClasses().Delete(ctx, "clash", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// PriorityClass: the host twin, its value lowered to the host admin's ceiling (500 here), and
	// a pod that uses it runs with it.
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "tenant-high"}, Value: 1000, Description: "e2e"}
	if _, err := vc.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hostPC := translate.HostClusterScopedName("tenant-high", hostNS, name)
	poll(ctx, t, "the host PriorityClass "+hostPC+" at the ceiling, with a Clamped event", func() bool {
		h, err := hc.SchedulingV1().PriorityClasses().Get(ctx, hostPC, metav1.GetOptions{})
		return err == nil && h.Value == 500 && !h.GlobalDefault && h.Labels[translate.LabelManagedBy] == name &&
			hasEvent(ctx, vc, metav1.NamespaceDefault, "tenant-high", "Clamped", "value 1000 lowered to 500 on the host: policies.hostAccess.maxPriorityClassValue")
	})
	// The virtual cluster is the source of truth: a twin deleted on the host comes back.
	if err := hc.SchedulingV1().PriorityClasses().Delete(ctx, hostPC, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the host PriorityClass recreated", func() bool {
		h, err := hc.SchedulingV1().PriorityClasses().Get(ctx, hostPC, metav1.GetOptions{})
		return err == nil && h.DeletionTimestamp == nil
	})
	prio := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "prio"}, Spec: corev1.PodSpec{PriorityClassName: "tenant-high",
		Containers: []corev1.Container{{Name: "hello", Image: images.Hello.Ref, ImagePullPolicy: corev1.PullIfNotPresent}}}}
	if _, err := vc.CoreV1().Pods("default").Create(ctx, prio, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the pod Running on the host with the host PriorityClass", func() bool {
		h, err := hc.CoreV1().Pods(hostNS).Get(ctx, translate.HostName("prio", "default", name), metav1.GetOptions{})
		return err == nil && h.Status.Phase == corev1.PodRunning && h.Spec.PriorityClassName == hostPC &&
			h.Spec.Priority != nil && *h.Spec.Priority == 500
	})
	// With useSecretsForSATokens the token is in a host Secret, not in the host pod.
	hostPod, err := hc.CoreV1().Pods(hostNS).Get(ctx, translate.HostName("prio", "default", name), metav1.GetOptions{})
	if err != nil || hostPod.Annotations[translate.AnnotationToken] != "" {
		t.Fatalf("host pod carries its token in an annotation: %v", err)
	}
	if _, err := hc.CoreV1().Secrets(hostNS).Get(ctx, translate.SafeName(hostPod.Name+"-token"), metav1.GetOptions{}); err != nil {
		t.Fatalf("token Secret: %v", err)
	}
	if out, err := execIn(ctx, v, "default", "prio", "/hello", "whoami"); err != nil || !strings.Contains(out, "system:serviceaccount:default:default") {
		t.Fatalf("whoami with a Secret-held token: %q %v", out, err)
	}

	// StorageClass: the host twin, never the host's default.
	manual := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "manual",
		Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner: "kubernetes.io/no-provisioner", ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimRetain)}
	if _, err := vc.StorageV1().StorageClasses().Create(ctx, manual, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hostSC := translate.HostClusterScopedName("manual", hostNS, name)
	poll(ctx, t, "the host StorageClass "+hostSC, func() bool {
		h, err := hc.StorageV1().StorageClasses().Get(ctx, hostSC, metav1.GetOptions{})
		return err == nil && h.Provisioner == "kubernetes.io/no-provisioner" && h.Annotations["storageclass.kubernetes.io/is-default-class"] == "" &&
			h.Labels[translate.LabelManagedBy] == name
	})

	// PersistentVolume: a tenant's hostPath volume and a claim bound to it.
	dir := filepath.Join("/tmp", fmt.Sprintf("vkube-e2e-%s-%d", name, time.Now().UnixNano()))
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o777)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "disk"}, Spec: corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		StorageClassName:              "manual",
		ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: "default", Name: "data"},
		PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: ptr.To(corev1.HostPathDirectoryOrCreate)}},
	}}
	if _, err := vc.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
		StorageClassName: ptr.To("manual"), VolumeName: "disk",
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	if _, err := vc.CoreV1().PersistentVolumeClaims("default").Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hostPV, hostClaim := translate.HostClusterScopedName("disk", hostNS, name), translate.HostName("data", "default", name)
	poll(ctx, t, "the host PersistentVolume "+hostPV+" bound to the claim's twin", func() bool {
		h, err := hc.CoreV1().PersistentVolumes().Get(ctx, hostPV, metav1.GetOptions{})
		return err == nil && h.Spec.ClaimRef != nil && h.Spec.ClaimRef.Namespace == hostNS && h.Spec.ClaimRef.Name == hostClaim &&
			h.Spec.StorageClassName == hostSC && h.Status.Phase == corev1.VolumeBound
	})
	poll(ctx, t, "the virtual volume and claim Bound", func() bool {
		p, err := vc.CoreV1().PersistentVolumes().Get(ctx, "disk", metav1.GetOptions{})
		c, err2 := vc.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
		return err == nil && err2 == nil && p.Status.Phase == corev1.VolumeBound && c.Status.Phase == corev1.ClaimBound
	})
	// hostPath directories are root's: the writer runs as root.
	writer := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "writer"}, Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To(int64(0))},
		Containers: []corev1.Container{{Name: "hello", Image: images.Hello.Ref, ImagePullPolicy: corev1.PullIfNotPresent,
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
		Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
	}}
	if _, err := vc.CoreV1().Pods("default").Create(ctx, writer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the writer Running", func() bool {
		p, err := vc.CoreV1().Pods("default").Get(ctx, "writer", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	})
	if out, err := execIn(ctx, v, "default", "writer", "/hello", "write", "/data/proof", "on-the-tenant-volume"); err != nil {
		t.Fatalf("writing to the volume: %v %s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "proof")); err != nil || string(b) != "on-the-tenant-volume" {
		t.Fatalf("the tenant's hostPath directory holds %q (%v)", b, err)
	}

	// Deleting the virtual objects deletes their twins.
	for _, p := range []string{"prio", "writer"} {
		if err := vc.CoreV1().Pods("default").Delete(ctx, p, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := vc.CoreV1().PersistentVolumeClaims("default").Delete(ctx, "data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := vc.CoreV1().PersistentVolumes().Delete(ctx, "disk", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := vc.StorageV1().StorageClasses().Delete(ctx, "manual", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := vc.SchedulingV1().PriorityClasses().Delete(ctx, "tenant-high", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the host twins gone", func() bool {
		_, e1 := hc.SchedulingV1().PriorityClasses().Get(ctx, hostPC, metav1.GetOptions{})
		_, e2 := hc.StorageV1().StorageClasses().Get(ctx, hostSC, metav1.GetOptions{})
		_, e3 := hc.CoreV1().PersistentVolumes().Get(ctx, hostPV, metav1.GetOptions{})
		return apierrors.IsNotFound(e1) && apierrors.IsNotFound(e2) && apierrors.IsNotFound(e3)
	})
	poll(ctx, t, "the virtual volume gone", func() bool {
		_, err := vc.CoreV1().PersistentVolumes().Get(ctx, "disk", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if _, err := hc.StorageV1().StorageClasses().Get(ctx, "standard", metav1.GetOptions{}); err != nil {
		t.Fatalf("the host's own StorageClass: %v", err)
	}
	if _, err := hc.SchedulingV1().PriorityClasses().Get(ctx, clash.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("the host's own PriorityClass: %v", err)
	}

	deleteLeavesNoClusterScopedTwin(ctx, t, v.Stop, vc, hc, name, hostNS)
}

// deleteLeavesNoClusterScopedTwin: `vkube delete` removes the cluster-scoped twins a virtual
// cluster still has, and only its own: a twin of a virtual cluster of the same name in another
// host namespace stays.
func deleteLeavesNoClusterScopedTwin(ctx context.Context, t *testing.T, stop func(), vc, hc kubernetes.Interface, name, hostNS string) {
	dir := t.TempDir()
	if _, err := vc.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "left"}, Value: 5}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := vc.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "left"}, Provisioner: "kubernetes.io/no-provisioner"}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "left"}, Spec: corev1.PersistentVolumeSpec{
		Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}},
	}}
	if _, err := vc.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ours := metav1.ListOptions{LabelSelector: translate.LabelManagedBy + "=" + name + "," + translate.LabelHostNamespace + "=" + hostNS}
	twins := func() (names []string, allTerminating bool) {
		allTerminating = true
		note := func(o metav1.Object) {
			names = append(names, o.GetName())
			allTerminating = allTerminating && o.GetDeletionTimestamp() != nil
		}
		pcs, e1 := hc.SchedulingV1().PriorityClasses().List(ctx, ours)
		scs, e2 := hc.StorageV1().StorageClasses().List(ctx, ours)
		pvs, e3 := hc.CoreV1().PersistentVolumes().List(ctx, ours)
		if err := errors.Join(e1, e2, e3); err != nil {
			t.Fatalf("listing the cluster-scoped twins: %v", err)
		}
		for i := range pcs.Items {
			note(&pcs.Items[i])
		}
		for i := range scs.Items {
			note(&scs.Items[i])
		}
		for i := range pvs.Items {
			note(&pvs.Items[i])
		}
		return names, allTerminating
	}
	poll(ctx, t, "three twins named "+translate.HostClusterScopedName("left", hostNS, name)+" marked with the host namespace", func() bool {
		names, _ := twins()
		return len(names) == 3
	})
	elsewhere := &schedulingv1.PriorityClass{Value: 3, ObjectMeta: metav1.ObjectMeta{Name: translate.HostClusterScopedName("elsewhere", "vc-elsewhere", name),
		Labels: map[string]string{translate.LabelManagedBy: name, translate.LabelHostNamespace: "vc-elsewhere"}}}
	if _, err := hc.SchedulingV1().PriorityClasses().Create(ctx, elsewhere, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = hc.SchedulingV1().PriorityClasses().Delete(context.Background(), elsewhere.Name, metav1.DeleteOptions{})
	})

	stop() // so that no syncer recreates what delete removes
	hostCLI(t).must(ctx, "delete", name, "-n", hostNS)
	if names, allTerminating := twins(); !allTerminating {
		t.Errorf("after vkube delete, cluster-scoped twins are left: %v", names)
	}
	poll(ctx, t, "no cluster-scoped twin left", func() bool {
		names, _ := twins()
		return len(names) == 0
	})
	if _, err := hc.SchedulingV1().PriorityClasses().Get(ctx, elsewhere.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the twin of the virtual cluster %s of another host namespace: %v", name, err)
	}
}

// deleteClusterScopedTwins removes the cluster-scoped host objects a virtual cluster left.
func deleteClusterScopedTwins(t *testing.T, hc kubernetes.Interface, vcluster string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sel := metav1.ListOptions{LabelSelector: translate.LabelManagedBy + "=" + vcluster}
	for _, del := range []func() error{
		func() error {
			return hc.SchedulingV1().PriorityClasses().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
		},
		func() error {
			return hc.StorageV1().StorageClasses().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
		},
		func() error {
			return hc.CoreV1().PersistentVolumes().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
		},
	} {
		if err := del(); err != nil {
			t.Logf("cleaning up cluster-scoped host objects: %v", err)
		}
	}
}
