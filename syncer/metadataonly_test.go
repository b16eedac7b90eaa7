package syncer

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestFetchedObjectsServeOnlyTheSameVersion(t *testing.T) {
	f := newFetchedObjects()
	u := &unstructured.Unstructured{}
	u.SetNamespace("ns")
	u.SetName("cfg")
	u.SetResourceVersion("7")
	f.put(u)
	m := &metav1.ObjectMeta{Namespace: "ns", Name: "cfg", ResourceVersion: "7"}
	if f.get(m) != u {
		t.Fatal("the kept read of version 7 is not served for version 7")
	}
	m.ResourceVersion = "8"
	if f.get(m) != nil {
		t.Fatal("a read of version 7 is served for version 8")
	}
	f.forget("ns", "cfg")
	m.ResourceVersion = "7"
	if f.get(m) != nil {
		t.Fatal("a forgotten object is still served")
	}
}

func TestStripManagedFields(t *testing.T) {
	m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "x", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	if _, err := stripManagedFields(m); err != nil || m.ManagedFields != nil {
		t.Fatalf("managedFields kept (%v): %v", err, m.ManagedFields)
	}
	if o, err := stripManagedFields("not an object"); err != nil || o != "not an object" {
		t.Fatalf("a non-object was changed: %v, %v", o, err)
	}
}
