package translate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestReserved(t *testing.T) {
	for key, want := range map[string]bool{
		"vkube.io/managed-by":      true,
		"vkube.io/control-plane":   true,
		"team.vkube.io/anything":   true,
		"a.b.vkube.io/x":           true,
		"VKUBE.IO/x":               true,
		"vkube.io":                 false, // a name with no prefix
		"notvkube.io/x":            false,
		"vkube.io.evil.com/x":      false,
		"app.kubernetes.io/name":   false,
		"app":                      false,
		"example.com/vkube.io":     false,
		"kubernetes.io/vkube.io/x": false,
	} {
		if got := Reserved(key); got != want {
			t.Errorf("Reserved(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestIdentityMatch(t *testing.T) {
	twin := func(kind, ns, name, uid string) map[string]string {
		return map[string]string{AnnotationKind: kind, AnnotationNamespace: ns, AnnotationName: name, AnnotationUID: uid}
	}
	pod := Identity{Kind: "Pod", Namespace: "c", Name: "a-x-b", UID: "u1"}
	for _, c := range []struct {
		what string
		id   Identity
		ann  map[string]string
		want Match
	}{
		{"its own twin", pod, twin("Pod", "c", "a-x-b", "u1"), Same},
		{"the twin of an earlier pod of that name", pod, twin("Pod", "c", "a-x-b", "u0"), Earlier},
		{"the seed collision: pod a in b-x-c", pod, twin("Pod", "b-x-c", "a", "u2"), Foreign},
		{"another name in the namespace", pod, twin("Pod", "c", "a", "u1"), Foreign},
		{"another kind of the same name (a token Secret)", Identity{Kind: "Secret", Namespace: "c", Name: "a-x-b", UID: "s1"}, twin("ServiceAccountToken", "c", "a-x-b", ""), Foreign},
		{"no recorded identity", pod, map[string]string{}, Foreign},
		{"nil annotations", pod, nil, Foreign},
		{"a twin made before the UID was known (Service webhook)", pod, twin("Pod", "c", "a-x-b", ""), Same},
		{"the webhook, before the virtual UID exists", Identity{Kind: "Service", Namespace: "c", Name: "web"}, twin("Service", "c", "web", "u9"), Same},
		{"a key, without kind or UID (deleted virtual object)", Identity{Namespace: "c", Name: "a-x-b"}, twin("Pod", "c", "a-x-b", "u1"), Same},
		{"a cluster-scoped twin", Identity{Kind: "PriorityClass", Name: "high", UID: "p"}, twin("PriorityClass", "", "high", "p"), Same},
		{"a cluster-scoped name recorded for a namespaced object", Identity{Kind: "PriorityClass", Name: "high", UID: "p"}, twin("PriorityClass", "ns", "high", "p"), Foreign},
	} {
		if got := c.id.Match(c.ann); got != c.want {
			t.Errorf("%s: %v, want %v", c.what, got, c.want)
		}
	}
}

// A tenant cannot forge vkube's markers or identity: its keys in the reserved prefix are dropped,
// vkube's own are set.
func TestTenantReservedKeysStripped(t *testing.T) {
	tctx := Context{VCluster: "vc", HostNamespace: "host"}
	forged := map[string]string{
		LabelManagedBy: "other", LabelNamespace: "kube-system", "vkube.io/control-plane": "vc",
		"x.vkube.io/y": "z", "app": "web",
	}
	v := &unstructured.Unstructured{Object: map[string]any{}}
	v.SetKind("ConfigMap")
	v.SetNamespace("team")
	v.SetName("cfg")
	v.SetUID("u1")
	v.SetLabels(forged)
	v.SetAnnotations(map[string]string{AnnotationName: "victim", AnnotationNamespace: "other", AnnotationUID: "u0",
		AnnotationTranslation: "h", "note": "kept"})
	check := func(what string, labels, ann map[string]string) {
		t.Helper()
		if labels[LabelManagedBy] != "vc" || labels[LabelNamespace] != "team" || labels["app"] != "web" {
			t.Errorf("%s: labels %v", what, labels)
		}
		for _, k := range []string{"vkube.io/control-plane", "x.vkube.io/y"} {
			if _, ok := labels[k]; ok {
				t.Errorf("%s: tenant label %s reached the host", what, k)
			}
		}
		if ann != nil && (ann[AnnotationName] != "cfg" || ann[AnnotationNamespace] != "team" || ann[AnnotationUID] != "u1" || ann["note"] != "kept") {
			t.Errorf("%s: annotations %v", what, ann)
		}
	}
	h := tctx.HostObject(v)
	check("HostObject", h.GetLabels(), h.GetAnnotations())
	check("selector", tctx.HostLabels("team", forged), nil)

	cluster := tctx.HostClusterObject(v)
	if l := cluster.GetLabels(); l[LabelHostNamespace] != "host" || l["vkube.io/control-plane"] != "" {
		t.Errorf("cluster-scoped labels %v", l)
	}
	v.SetLabels(map[string]string{LabelHostNamespace: "elsewhere"})
	if l := tctx.HostClusterObject(v).GetLabels(); l[LabelHostNamespace] != "host" {
		t.Errorf("forged host namespace kept: %v", l)
	}

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "team", UID: "u1", Labels: forged,
		Annotations: map[string]string{AnnotationName: "victim", AnnotationUID: "u0", AnnotationToken: "forged", "y.vkube.io/z": "w", "note": "kept"}}}
	hp, err := Pod{Context: tctx}.HostPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	check("HostPod", hp.Labels, hp.Annotations)
	for _, k := range []string{AnnotationToken, "y.vkube.io/z"} {
		if _, ok := hp.Annotations[k]; ok {
			t.Errorf("HostPod: tenant annotation %s reached the host", k)
		}
	}
}
