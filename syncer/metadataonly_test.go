package syncer

import (
	"context"
	"log/slog"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"vkube.io/vkube/syncer/translate"
)

func TestFetchedObjectsServeOnlyTheSameVersion(t *testing.T) {
	f := newFetchedObjects()
	f.put("ns", "cfg", translated{resourceVersion: "7", stamp: "s"})
	m := &metav1.ObjectMeta{Namespace: "ns", Name: "cfg", ResourceVersion: "7"}
	if got, ok := f.get(m); !ok || got.stamp != "s" {
		t.Fatalf("the read of version 7 is not served for version 7: %v, %v", got, ok)
	}
	m.ResourceVersion = "8"
	if _, ok := f.get(m); ok {
		t.Fatal("a read of version 7 is served for version 8")
	}
	f.forget("ns", "cfg")
	m.ResourceVersion = "7"
	if _, ok := f.get(m); ok {
		t.Fatal("a forgotten object is still served")
	}
}

// fetchingSecrets is the Secrets kind over a fake virtual API holding objs, every Secret used.
func fetchingSecrets(objs ...runtime.Object) (fetchingKind, *dynamicfake.FakeDynamicClient) {
	client := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme(), objs...)
	k := secrets{tctx: translate.Context{VCluster: "vc", HostNamespace: "host"}, used: func(string, string) bool { return true }}
	return fetchingKind{unstructuredKind: unstructuredKind{k}, only: k, virtual: client.Resource(k.gvr()), fetched: newFetchedObjects()}, client
}

func virtualSecret(name, rv, typ string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "type": typ,
		"data": map[string]any{"k": "dg=="}}}
	u.SetNamespace("ns")
	u.SetName(name)
	u.SetUID(types.UID("uid-" + name))
	u.SetResourceVersion(rv)
	return u
}

func metadataOf(u *unstructured.Unstructured) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: u.GetName(), UID: u.GetUID(), ResourceVersion: u.GetResourceVersion()}}
}

func gets(c *dynamicfake.FakeDynamicClient) int {
	n := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == "get" {
			n++
		}
	}
	return n
}

func TestFetchingKindReadsAVersionOnce(t *testing.T) {
	ctx := context.Background()
	v := virtualSecret("s", "7", string(corev1.SecretTypeOpaque))
	k, client := fetchingSecrets(v)
	m := metadataOf(v)
	desired, skip, err := k.toHostObject(ctx, m)
	if err != nil || skip || desired == nil {
		t.Fatalf("no twin for a used Secret: %v, %v, %v", desired, skip, err)
	}
	live := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Annotations: metaOf(desired).GetAnnotations()}}
	if !k.upToDate(m, live) {
		t.Fatal("a twin stamped with this version's translation is not up to date")
	}
	if gets(client) != 1 {
		t.Fatalf("%d reads of one version, want 1", gets(client))
	}
	if k.upToDate(m, &metav1.PartialObjectMetadata{}) {
		t.Fatal("a twin without the stamp is up to date")
	}
	changed := m.DeepCopy()
	changed.ResourceVersion = "8"
	if k.upToDate(changed, live) {
		t.Fatal("a twin is up to date with a version never read")
	}
	k.only = secrets{used: func(string, string) bool { return false }}
	if k.upToDate(m, live) {
		t.Fatal("the twin of a Secret no pod uses any more is up to date")
	}
}

func TestFetchingKindSkipsAServiceAccountTokenWithoutReadingAgain(t *testing.T) {
	ctx := context.Background()
	v := virtualSecret("token", "3", string(corev1.SecretTypeServiceAccountToken))
	k, client := fetchingSecrets(v)
	for range 2 {
		if desired, skip, err := k.toHostObject(ctx, metadataOf(v)); err != nil || !skip || desired != nil {
			t.Fatalf("a service-account token Secret is synced: %v, %v, %v", desired, skip, err)
		}
	}
	if gets(client) != 1 {
		t.Fatalf("%d reads of one version, want 1", gets(client))
	}
}

func TestMetadataTransformsKeepWhatTheControllerReads(t *testing.T) {
	k := secrets{}
	p := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns", UID: "u", ResourceVersion: "1",
		Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	host := p.DeepCopy()
	if _, err := typedMetadata(k, identityOnly)(p); err != nil || p.Kind != "Secret" || p.APIVersion != "v1" || p.Labels != nil || p.Annotations != nil || p.ManagedFields != nil || p.UID != "u" {
		t.Fatalf("virtual metadata kept as %+v (%v)", p, err)
	}
	if _, err := typedMetadata(k, func(p *metav1.PartialObjectMetadata) { p.ManagedFields = nil })(host); err != nil || host.Kind != "Secret" || host.Labels["a"] != "b" || host.ManagedFields != nil {
		t.Fatalf("host metadata kept as %+v (%v)", host, err)
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

// A resync of a Secret whose twin holds its translation costs no request at all.
func TestResyncOfAnUpToDateTwinSendsNothing(t *testing.T) {
	ctx := context.Background()
	v := virtualSecret("s", "7", string(corev1.SecretTypeOpaque))
	k, vclient := fetchingSecrets(v)
	hclient := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
	vIndex, hIndex := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}), cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	if err := vIndex.Add(metadataOf(v)); err != nil {
		t.Fatal(err)
	}
	gr := k.gvr().GroupResource()
	c := &controller{res: k, tctx: k.only.(secrets).tctx, virtual: dynamicObjects{vclient.Resource(k.gvr())}, host: dynamicObjects{hclient.Resource(k.gvr())},
		vLister: cache.NewGenericLister(vIndex, gr), hLister: cache.NewGenericLister(hIndex, gr), hostNS: "host",
		queue: newQueue("test-up-to-date"), recorder: record.NewFakeRecorder(10), log: slog.Default()}
	if err := c.reconcile(ctx, "ns/s"); err != nil {
		t.Fatal(err)
	}
	twin, err := hclient.Resource(k.gvr()).Namespace("host").Get(ctx, translate.HostName("s", "ns", "vc"), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("no twin: %v", err)
	}
	if err := hIndex.Add(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "host", Name: twin.GetName(),
		Labels: twin.GetLabels(), Annotations: twin.GetAnnotations()}}); err != nil {
		t.Fatal(err)
	}
	vclient.ClearActions()
	hclient.ClearActions()
	if err := c.reconcile(ctx, "ns/s"); err != nil {
		t.Fatal(err)
	}
	if a := append(vclient.Actions(), hclient.Actions()...); len(a) > 0 {
		t.Fatalf("a resync sent %v", a)
	}
}
