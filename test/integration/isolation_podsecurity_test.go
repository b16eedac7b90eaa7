package integration

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/isolation"
)

const enforceLabel = "pod-security.kubernetes.io/enforce"

func enforcesBaseline(t *testing.T, c kubernetes.Interface, name string) bool {
	t.Helper()
	ns, err := c.CoreV1().Namespaces().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range isolation.PSSLabels("baseline") {
		if ns.Labels[k] != v {
			return false
		}
	}
	return true
}

func enforcePSSLabelsEveryNamespace(t *testing.T, c kubernetes.Interface) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	createNamespace(ctx, t, c, "web", map[string]string{"team": "a", enforceLabel: "privileged"})
	if err := isolation.EnforcePSS(ctx, c, "baseline"); err != nil {
		t.Fatal(err)
	}
	// Namespaces that exist are labelled by the time EnforcePSS returns; other labels stay.
	for _, name := range []string{"default", "kube-system", "web"} {
		if !enforcesBaseline(t, c, name) {
			t.Errorf("namespace %s does not enforce baseline", name)
		}
	}
	if web, _ := c.CoreV1().Namespaces().Get(ctx, "web", metav1.GetOptions{}); web.Labels["team"] != "a" {
		t.Errorf("web lost its own labels: %v", web.Labels)
	}

	createNamespace(ctx, t, c, "new", nil)
	pollT(t, 10*time.Second, "a new namespace labelled", func() bool { return enforcesBaseline(t, c, "new") })

	web, err := c.CoreV1().Namespaces().Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	web.Labels[enforceLabel] = "privileged"
	if _, err := c.CoreV1().Namespaces().Update(ctx, web, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pollT(t, 10*time.Second, "a tenant's relabelling undone", func() bool { return enforcesBaseline(t, c, "web") })
}
