package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"vkube.io/vkube/test/framework"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

const testNS = "it"

var widgets = schema.GroupVersionResource{Group: "vkube.io", Version: "v1", Resource: "widgets"}

// exerciseCluster does what a new user of a cluster does: a namespace, a CRD and a custom
// object, a Deployment that gets its ReplicaSet and Pods, the default ServiceAccount's token,
// and a watch.
func exerciseCluster(t *testing.T, v *framework.VCluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cs := v.Client()
	cfg := v.RESTConfig()

	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	createCRD(ctx, t, cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	w := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "vkube.io/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w1"}, "spec": map[string]any{"size": int64(3)}}}
	if _, err := dyn.Resource(widgets).Namespace(testNS).Create(ctx, w, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create custom object: %v", err)
	}

	watcher, err := cs.CoreV1().ConfigMaps(testNS).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch configmaps: %v", err)
	}
	defer watcher.Stop()
	if _, err := cs.CoreV1().ConfigMaps(testNS).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create configmap: %v", err)
	}
	waitWatchEvent(t, watcher, "settings")

	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(int32(2)),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.local/hello:v1"}}}},
	}}
	if _, err := cs.AppsV1().Deployments(testNS).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	poll(ctx, t, "the Deployment's ReplicaSet and 2 Pods", func() (bool, error) {
		rs, err := cs.AppsV1().ReplicaSets(testNS).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(rs.Items) != 1 {
			return false, nil
		}
		pods, err := cs.CoreV1().Pods(testNS).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		return err == nil && len(pods.Items) == 2, nil
	})
	// Standalone, no node will run them: each pod says why it stays Pending.
	poll(ctx, t, "a NoHostCluster event on each Pending pod", func() (bool, error) {
		evs, err := cs.CoreV1().Events(testNS).List(ctx, metav1.ListOptions{FieldSelector: "reason=NoHostCluster,involvedObject.kind=Pod"})
		return err == nil && len(evs.Items) == 2 && strings.Contains(evs.Items[0].Message, "--host-kubeconfig"), nil
	})

	poll(ctx, t, "the default ServiceAccount", func() (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(testNS).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	tr, err := cs.CoreV1().ServiceAccounts(testNS).CreateToken(ctx, "default", &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	saCfg := rest.AnonymousClientConfig(cfg)
	saCfg.BearerToken = tr.Status.Token
	review, err := kubernetes.NewForConfigOrDie(saCfg).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("calling the API with the ServiceAccount token: %v", err)
	}
	if got, want := review.Status.UserInfo.Username, "system:serviceaccount:"+testNS+":default"; got != want {
		t.Fatalf("token authenticates as %q, want %q", got, want)
	}
	poll(ctx, t, "the kube-root-ca.crt ConfigMap", func() (bool, error) {
		_, err := cs.CoreV1().ConfigMaps(testNS).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil, nil
	})
}

// verifyPersisted checks that what exerciseCluster created survived a restart.
func verifyPersisted(t *testing.T, v *framework.VCluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs := v.Client()
	if _, err := cs.CoreV1().Namespaces().Get(ctx, testNS, metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace after restart: %v", err)
	}
	cm, err := cs.CoreV1().ConfigMaps(testNS).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil || cm.Data["k"] != "v" {
		t.Fatalf("configmap after restart: %v %v", cm, err)
	}
	if _, err := cs.AppsV1().Deployments(testNS).Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Fatalf("deployment after restart: %v", err)
	}
	dyn := dynamic.NewForConfigOrDie(v.RESTConfig())
	poll(ctx, t, "the custom object after restart", func() (bool, error) {
		w, err := dyn.Resource(widgets).Namespace(testNS).Get(ctx, "w1", metav1.GetOptions{})
		return err == nil && w.Object["spec"].(map[string]any)["size"] == int64(3), nil
	})
}

func createCRD(ctx context.Context, t *testing.T, cfg *rest.Config) {
	t.Helper()
	c := apiextclient.NewForConfigOrDie(cfg)
	crd := &apiextv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.vkube.io"},
		Spec: apiextv1.CustomResourceDefinitionSpec{
			Group: "vkube.io", Scope: apiextv1.NamespaceScoped,
			Names: apiextv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{Type: "object",
					Properties: map[string]apiextv1.JSONSchemaProps{"spec": {Type: "object", Properties: map[string]apiextv1.JSONSchemaProps{"size": {Type: "integer"}}}}}}}},
		},
	}
	if _, err := c.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create CRD: %v", err)
	}
	poll(ctx, t, "the CRD to be established", func() (bool, error) {
		got, err := c.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == apiextv1.Established && cond.Status == apiextv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

func waitWatchEvent(t *testing.T, w watch.Interface, name string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch closed before %s was seen", name)
			}
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == watch.Added && cm.Name == name {
				return
			}
		case <-timeout:
			t.Fatalf("no ADDED event for %s within 30s", name)
		}
	}
}

func poll(ctx context.Context, t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(context.Context) (bool, error) { return cond() }); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

var _ = fmt.Sprintf
