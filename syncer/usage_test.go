package syncer

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// TestUsageIndex: a ConfigMap or Secret is used while a pod of its namespace references it, and
// no longer once the pod is gone.
func TestUsageIndex(t *testing.T) {
	store := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{usedByIndex: podUsage})
	u := &usage{pods: store}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team"}, Spec: corev1.PodSpec{
		Volumes:    []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}}},
		Containers: []corev1.Container{{Name: "c", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}}}}}}}
	if err := store.Add(pod); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		used bool
		got  bool
	}{{true, u.configMap("team", "settings")}, {true, u.secret("team", "creds")}, {false, u.secret("team", "settings")}, {false, u.configMap("other", "settings")}} {
		if c.got != c.used {
			t.Errorf("usage %+v", c)
		}
	}
	if err := store.Delete(pod); err != nil {
		t.Fatal(err)
	}
	if u.configMap("team", "settings") {
		t.Errorf("still used after the pod is gone")
	}
}
