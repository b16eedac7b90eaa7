package syncer

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"vkube.io/vkube/syncer/translate"
)

func TestPriorityClassTranslation(t *testing.T) {
	v := mustObj(t, `apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high, labels: {team: a}}
value: 1000
globalDefault: true
preemptionPolicy: Never
description: urgent
`)
	h, skip, err := priorityClasses{tctx: tctx, max: 1000}.toHost(context.Background(), v)
	if err != nil || skip {
		t.Fatal(err, skip)
	}
	if h.GetName() != "vkube-vc-x-host-x-high" || h.GetNamespace() != "" {
		t.Errorf("name %q/%q", h.GetNamespace(), h.GetName())
	}
	if _, ok := h.Object["globalDefault"]; ok {
		t.Error("globalDefault kept: it would apply to every host pod")
	}
	if fmt.Sprint(h.Object["value"]) != "1000" || h.Object["preemptionPolicy"] != "Never" || h.Object["description"] != "urgent" {
		t.Errorf("body %v", h.Object)
	}
	if l := h.GetLabels(); l[translate.LabelManagedBy] != "vc" || l["team"] != "a" {
		t.Errorf("labels %v", l)
	}
	if _, ok := h.GetLabels()[translate.LabelNamespace]; ok {
		t.Error("a cluster-scoped twin has no namespace label")
	}
	if ns := h.GetLabels()[translate.LabelHostNamespace]; ns != "host" {
		t.Errorf("host-namespace label %q: vkube delete selects a cluster's twins by it", ns)
	}
	if _, skip, _ := (priorityClasses{tctx: tctx}).toHost(context.Background(), mustObj(t, "metadata: {name: system-node-critical}\nvalue: 2000001000\n")); !skip {
		t.Error("system classes are the host's own")
	}
	cfg := &Config{Name: "vc", HostNamespace: "host", PriorityClasses: true}
	if got := hostPriorityClass(cfg, "high"); got != "vkube-vc-x-host-x-high" {
		t.Errorf("pod class %q", got)
	}
	if got := hostPriorityClass(cfg, "system-cluster-critical"); got != "" {
		t.Errorf("system pod class %q", got)
	}
	if got := hostPriorityClass(&Config{Name: "vc"}, "high"); got != "" {
		t.Errorf("class kept without priority class sync: %q", got)
	}
}

func TestStorageClassTranslation(t *testing.T) {
	v := mustObj(t, `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast, annotations: {storageclass.kubernetes.io/is-default-class: "true", note: x}}
provisioner: example.com/fast
parameters: {tier: gold}
reclaimPolicy: Retain
`)
	h, skip, err := storageClasses{tctx: tctx}.toHost(context.Background(), v)
	if err != nil || skip {
		t.Fatal(err, skip)
	}
	if h.GetName() != "vkube-vc-x-host-x-fast" || h.Object["provisioner"] != "example.com/fast" || h.Object["reclaimPolicy"] != "Retain" {
		t.Errorf("host class %v", h.Object)
	}
	if ann := h.GetAnnotations(); ann["storageclass.kubernetes.io/is-default-class"] != "" || ann["note"] != "x" {
		t.Errorf("annotations %v: a tenant's class must never be the host's default", ann)
	}
	v.SetLabels(map[string]string{translate.LabelFromHost: "true"})
	if _, skip, _ := (storageClasses{tctx: tctx}).toHost(context.Background(), v); !skip {
		t.Error("a copy of a host class synced back")
	}
}

// classLister holds virtual StorageClasses: "fast" the tenant's, "standard" a host copy.
func classLister(t *testing.T) cache.GenericLister {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	_ = idx.Add(mustObj(t, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast}\n"))
	_ = idx.Add(mustObj(t, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: standard, labels: {vkube.io/from-host: \"true\"}}\n"))
	return cache.NewGenericLister(idx, schema.GroupResource{Group: "storage.k8s.io", Resource: "storageclasses"})
}

func TestVolumeAndClaimTranslation(t *testing.T) {
	names := storageNames{tctx: tctx, classes: classLister(t), volumes: true}
	pv := mustObj(t, `apiVersion: v1
kind: PersistentVolume
metadata: {name: disk}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  hostPath: {path: /tmp/disk}
  claimRef: {namespace: team, name: data, uid: virtual-uid}
`)
	h, _, err := persistentVolumes{tctx: tctx, names: names, hostPath: true}.toHost(context.Background(), pv)
	if err != nil {
		t.Fatal(err)
	}
	ref, _, _ := unstructured.NestedStringMap(h.Object, "spec", "claimRef")
	if h.GetName() != "vkube-vc-x-host-x-disk" || ref["namespace"] != "host" || ref["name"] != "data-x-team-x-vc" || ref["uid"] != "" {
		t.Errorf("host volume %s, claimRef %v", h.GetName(), ref)
	}
	if c, _, _ := unstructured.NestedString(h.Object, "spec", "storageClassName"); c != "vkube-vc-x-host-x-fast" {
		t.Errorf("volume class %q", c)
	}
	for class, want := range map[string]string{"fast": "vkube-vc-x-host-x-fast", "standard": "standard", "unknown": "unknown", "": ""} {
		pvc := mustObj(t, "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: team}\nspec: {volumeName: disk, storageClassName: \""+class+"\"}\n")
		hc, _, err := pvcs{tctx: tctx, names: names}.toHost(context.Background(), pvc)
		if err != nil {
			t.Fatal(err)
		}
		c, _, _ := unstructured.NestedString(hc.Object, "spec", "storageClassName")
		vol, _, _ := unstructured.NestedString(hc.Object, "spec", "volumeName")
		if c != want || vol != "vkube-vc-x-host-x-disk" {
			t.Errorf("claim of class %q: class %q volume %q", class, c, vol)
		}
	}
	// Without volume and class sync, a claim is the host's to bind and its class unchanged.
	pvc := mustObj(t, "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: team}\nspec: {volumeName: disk, storageClassName: fast}\n")
	hc, _, _ := pvcs{tctx: tctx}.toHost(context.Background(), pvc)
	if _, ok, _ := unstructured.NestedString(hc.Object, "spec", "volumeName"); ok {
		t.Error("volumeName kept without volume sync")
	}
	if c, _, _ := unstructured.NestedString(hc.Object, "spec", "storageClassName"); c != "fast" {
		t.Errorf("class %q rewritten without class sync", c)
	}
}

func TestObjectKeys(t *testing.T) {
	if objectKey("", "disk") != "disk" || objectKey("team", "data") != "team/data" {
		t.Error("keys")
	}
	l := classLister(t)
	if _, err := listerGet(l, "", "fast"); err != nil {
		t.Errorf("cluster-scoped get: %v", err)
	}
}
