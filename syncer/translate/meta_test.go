package translate

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestClusterScopedTwinsNameTheirHostNamespace(t *testing.T) {
	virtual := &unstructured.Unstructured{Object: map[string]any{}}
	virtual.SetName("high")
	twin := Context{VCluster: "vc", HostNamespace: "team-a"}.HostClusterObject(virtual)
	if l := twin.GetLabels(); l[LabelManagedBy] != "vc" || l[LabelHostNamespace] != "team-a" {
		t.Fatalf("labels %v", l)
	}
	if !(Context{VCluster: "vc", HostNamespace: "team-a"}).Owned(twin) {
		t.Error("its own twin is not owned")
	}
	if (Context{VCluster: "vc", HostNamespace: "team-b"}).Owned(twin) {
		t.Error("a virtual cluster of the same name in another namespace owns the twin")
	}
	// Twins made before the label existed stay their cluster's.
	labels := twin.GetLabels()
	delete(labels, LabelHostNamespace)
	twin.SetLabels(labels)
	if !(Context{VCluster: "vc", HostNamespace: "team-a"}).Owned(twin) {
		t.Error("an unmarked twin is not owned")
	}
	// Namespaced twins carry no host-namespace label: their namespace says it.
	if _, ok := (Context{VCluster: "vc", HostNamespace: "team-a"}).HostObject(virtual).GetLabels()[LabelHostNamespace]; ok {
		t.Error("a namespaced twin has a host-namespace label")
	}
}
