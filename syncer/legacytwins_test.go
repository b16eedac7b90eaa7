package syncer

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	"vkube.io/vkube/syncer/translate"
)

// Cluster-scoped twins named before names held the host namespace are found by the old name and
// are stale, but only this cluster's own (both labels), recording the object asked about.
func TestLegacyClusterScopedTwin(t *testing.T) {
	twin := func(name, cluster, hostNS, records, phase string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		u.SetName(name)
		u.SetLabels(map[string]string{translate.LabelManagedBy: cluster, translate.LabelHostNamespace: hostNS})
		u.SetAnnotations(map[string]string{translate.AnnotationName: records})
		if phase != "" {
			_ = unstructured.SetNestedField(u.Object, phase, "status", "phase")
		}
		return u
	}
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, o := range []*unstructured.Unstructured{
		twin("vkube-vc-x-high", "vc", "host", "high", ""),
		twin("vkube-vc-x-theirs", "vc", "other-ns", "theirs", ""),
		// The old name of "host-x-low" is the new name of "low": it is low's twin, not stale.
		twin("vkube-vc-x-host-x-low", "vc", "host", "low", ""),
		twin("vkube-vc-x-disk", "vc", "host", "disk", "Bound"),
	} {
		if err := indexer.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	c := &controller{tctx: tctx, hostNS: "", hLister: cache.NewGenericLister(indexer, persistentVolumes{}.gvr().GroupResource())}
	legacy := func(name string) bool {
		return c.legacyTwin("", name, translate.HostClusterScopedName(name, tctx.HostNamespace, tctx.VCluster)) != nil
	}
	if !legacy("high") {
		t.Error("this cluster's twin under the old name is not found")
	}
	if legacy("theirs") {
		t.Error("a twin of the cluster of the same name in another host namespace counts as ours")
	}
	if legacy("host-x-low") {
		t.Error("another object's twin under its new name counts as stale")
	}
	if legacy("missing") {
		t.Error("found a twin that is not there")
	}
	if obj := c.legacyTwin("", "disk", "vkube-vc-x-host-x-disk"); obj == nil || !hostBound(obj) {
		t.Error("a bound volume under the old name is not kept bound")
	}
	if hostBound(twin("x", "vc", "host", "x", "Released")) {
		t.Error("a released volume counts as bound")
	}
	c.hostNS = "host"
	if c.legacyTwin("team", "high", "high-x-team-x-vc") != nil {
		t.Error("namespaced twins have no legacy name")
	}
}
