package integration

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"vkube.io/vkube/test/framework"
)

// apiServer is a standalone virtual cluster, a real kube-apiserver and controller manager,
// for the tests of code that talks to an API; one per test file, shared by its subtests.
func apiServer(t *testing.T, name string) *framework.VCluster {
	t.Helper()
	requireKube(t, kubeVersion)
	v := framework.New(t, vkubeBin, name)
	v.Start()
	v.WaitReady(2 * time.Minute)
	return v
}

// createNamespace creates a namespace of the given labels, or fails the test.
func createNamespace(ctx context.Context, t *testing.T, c kubernetes.Interface, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// impersonating is a client of cfg acting as user, with no groups but system:authenticated.
func impersonating(t *testing.T, cfg *rest.Config, user string) kubernetes.Interface {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
