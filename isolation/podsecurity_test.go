package isolation

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
)

func nsLabels(t *testing.T, c *fake.Clientset, name string) map[string]string {
	t.Helper()
	ns, err := c.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Labels
}

func enforced(labels map[string]string, level string) bool {
	return labels["pod-security.kubernetes.io/enforce"] == level && labels["pod-security.kubernetes.io/enforce-version"] == "latest"
}

func TestEnforcePSS(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"team": "a", "pod-security.kubernetes.io/enforce": "privileged"}}},
	)
	if err := EnforcePSS(ctx, c, "baseline"); err != nil {
		t.Fatal(err)
	}
	// Namespaces that exist are labelled by the time EnforcePSS returns; other labels stay.
	if l := nsLabels(t, c, "default"); !enforced(l, "baseline") {
		t.Errorf("default: %v", l)
	}
	if l := nsLabels(t, c, "web"); !enforced(l, "baseline") || l["team"] != "a" {
		t.Errorf("web: %v", l)
	}

	eventually := func(what, name string) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			return enforced(nsLabels(t, c, name), "baseline"), nil
		})
		if err != nil {
			t.Fatalf("%s: %v", what, nsLabels(t, c, name))
		}
	}
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "new"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("a new namespace labelled", "new")

	web, _ := c.CoreV1().Namespaces().Get(ctx, "web", metav1.GetOptions{})
	web.Labels["pod-security.kubernetes.io/enforce"] = "privileged"
	if _, err := c.CoreV1().Namespaces().Update(ctx, web, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually("a tenant's relabelling undone", "web")
}

func TestEnforcePSSRefusesAnUnknownLevel(t *testing.T) {
	if err := EnforcePSS(context.Background(), fake.NewClientset(), "strict"); err == nil {
		t.Fatal("level strict accepted")
	}
}
