package syncer

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
)

func TestClampPriority(t *testing.T) {
	for _, tc := range []struct {
		value   int64
		max     int32
		want    int64
		clamped bool
	}{
		{1000, 0, 0, true},
		{0, 0, 0, false},
		{-5, 0, -5, false},
		{1000000000, 0, 0, true},
		{500, 1000, 500, false},
		{1001, 1000, 1000, true},
	} {
		got, clamped := clampPriority(tc.value, tc.max)
		if got != tc.want || clamped != tc.clamped {
			t.Errorf("clampPriority(%d, %d) = %d, %v; want %d, %v", tc.value, tc.max, got, clamped, tc.want, tc.clamped)
		}
	}
	msg := clampedMessage(1000000, 0)
	if !strings.Contains(msg, "1000000") || !strings.Contains(msg, " 0 ") || !strings.Contains(msg, "policies.hostAccess.maxPriorityClassValue") {
		t.Errorf("the Clamped message names both values and the key: %q", msg)
	}
}

// A tenant's class above the ceiling is synced at the ceiling, never as the host's default; a
// twin made under another ceiling (value is immutable) is removed so it is made anew.
func TestPriorityClassClamped(t *testing.T) {
	v := mustObj(t, "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high, uid: u1}\nvalue: 1000000000\nglobalDefault: true\npreemptionPolicy: PreemptLowerPriority\n")
	h, skip, err := priorityClasses{tctx: tctx}.toHost(context.Background(), v)
	if err != nil || skip {
		t.Fatal(err, skip)
	}
	if got, _, _ := unstructured.NestedInt64(h.Object, "value"); got != 0 {
		t.Errorf("host value %d, want the default ceiling 0", got)
	}
	if _, ok := h.Object["globalDefault"]; ok {
		t.Error("globalDefault kept")
	}

	twins := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	old := h.DeepCopy()
	_ = unstructured.SetNestedField(old.Object, int64(1000000000), "value")
	if err := twins.Add(old); err != nil {
		t.Fatal(err)
	}
	lister := cache.NewGenericLister(twins, priorityClasses{}.gvr().GroupResource())
	if _, skip, _ := (priorityClasses{tctx: tctx, twins: lister}).toHost(context.Background(), v); !skip {
		t.Error("a twin above the ceiling is kept: its value cannot be updated, it must be made anew")
	}
	if _, skip, _ := (priorityClasses{tctx: tctx, twins: lister, max: 1000000000}).toHost(context.Background(), v); skip {
		t.Error("a twin of the right value is made anew")
	}
	// Someone else's object of that name is not vkube's to remove (the controller reports the conflict).
	foreign := old.DeepCopy()
	foreign.SetLabels(nil)
	_ = twins.Update(foreign)
	if _, skip, _ := (priorityClasses{tctx: tctx, twins: lister}).toHost(context.Background(), v); skip {
		t.Error("a host class vkube does not own is treated as a twin")
	}
}

func TestHostPathVolumesRefused(t *testing.T) {
	names := storageNames{tctx: tctx}
	for _, tc := range []struct {
		source  string
		refused string
	}{
		{"hostPath: {path: /}", "spec.hostPath"},
		{"local: {path: /mnt/disks/a}", "spec.local"},
		{"nfs: {server: nfs.example, path: /x}", ""},
		{"csi: {driver: ebs.csi.aws.com, volumeHandle: vol-1}", ""},
	} {
		pv := mustObj(t, "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: disk}\nspec:\n  capacity: {storage: 1Gi}\n  "+tc.source+"\n")
		h, skip, err := persistentVolumes{tctx: tctx, names: names}.toHost(context.Background(), pv)
		if err != nil {
			t.Fatal(err)
		}
		if skip != (tc.refused != "") || (skip && h != nil) {
			t.Errorf("%s: skip %v", tc.source, skip)
		}
		spec, _, _ := unstructured.NestedMap(pv.Object, "spec")
		if got := strings.Join(nodeStorageSources(spec), ","); got != tc.refused {
			t.Errorf("%s: refused fields %q, want %q", tc.source, got, tc.refused)
		}
		if _, skip, _ := (persistentVolumes{tctx: tctx, names: names, hostPath: true}).toHost(context.Background(), pv); skip {
			t.Errorf("%s refused with hostPathVolumes allowed", tc.source)
		}
	}
	msg := hostPathRefusal([]string{"spec.hostPath"})
	if !strings.HasPrefix(msg, "not synced to the host: spec.hostPath: ") || !strings.Contains(msg, "policies.hostAccess.hostPathVolumes") {
		t.Errorf("refusal message %q", msg)
	}
}

func TestNamespacedSecretRefs(t *testing.T) {
	for _, tc := range []struct {
		spec    map[string]any
		refused string
	}{
		{map[string]any{"csi": map[string]any{"driver": "d", "volumeHandle": "h",
			"nodePublishSecretRef": map[string]any{"name": "s", "namespace": "kube-system"}}}, "spec.csi.nodePublishSecretRef.namespace"},
		{map[string]any{"rbd": map[string]any{"secretRef": map[string]any{"name": "s", "namespace": "other"}}}, "spec.rbd.secretRef.namespace"},
		{map[string]any{"azureFile": map[string]any{"secretName": "s", "secretNamespace": "other"}}, "spec.azureFile.secretNamespace"},
		{map[string]any{"nfs": map[string]any{"server": "nfs.example.com", "path": "/"}}, ""},
		{map[string]any{"csi": map[string]any{"driver": "d", "volumeHandle": "h"}}, ""},
	} {
		if got := strings.Join(namespacedSecretRefs(tc.spec, "spec"), ","); got != tc.refused {
			t.Errorf("%v: refused %q, want %q", tc.spec, got, tc.refused)
		}
	}
}
