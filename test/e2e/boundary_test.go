package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/syncer/translate"
	"vkube.io/vkube/test/images"
)

// TestHostRefusals: seed 002's cases. A pod the host's quota refuses gets a SyncError event
// with the host's message; a Service the host's admission policy refuses (Gatekeeper's
// no-NodePort rule, here a ValidatingAdmissionPolicy) is refused to the tenant at once; a host
// object of the same name that vkube does not own is reported, never overwritten.
func TestHostRefusals(t *testing.T) {
	v, hc, hostNS := startOnHost(t, "refuse")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	vc := v.Client()
	if _, err := hc.CoreV1().ResourceQuotas(hostNS).Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "small"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceRequestsMemory: resource.MustParse("1Gi")}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	greedy := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "greedy"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "hello", Image: images.Hello.Ref,
		ImagePullPolicy: corev1.PullIfNotPresent, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Gi")}}}}}}
	if _, err := vc.CoreV1().Pods("default").Create(ctx, greedy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "a SyncError event with the host's quota message", func() bool {
		evs, err := vc.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=greedy"})
		if err != nil {
			return false
		}
		for _, e := range evs.Items {
			if e.Reason == "SyncError" && e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "exceeded quota") {
				return true
			}
		}
		return false
	})

	policy := "vkube-e2e-no-nodeport"
	ar := hc.AdmissionregistrationV1()
	if _, err := ar.ValidatingAdmissionPolicies().Create(ctx, &admissionregv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: policy},
		Spec: admissionregv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregv1.MatchResources{ResourceRules: []admissionregv1.NamedRuleWithOperations{{RuleWithOperations: admissionregv1.RuleWithOperations{
				Operations: []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update},
				Rule:       admissionregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"services"}}}}}},
			Validations: []admissionregv1.Validation{{Expression: "object.spec.type != 'NodePort'", Message: "NodePort services are not allowed in this cluster"}},
		}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ar.ValidatingAdmissionPolicies().Delete(context.Background(), policy, metav1.DeleteOptions{})
	})
	if _, err := ar.ValidatingAdmissionPolicyBindings().Create(ctx, &admissionregv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: policy},
		Spec: admissionregv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy, ValidationActions: []admissionregv1.ValidationAction{admissionregv1.Deny},
			MatchResources: &admissionregv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": hostNS}}}}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ar.ValidatingAdmissionPolicyBindings().Delete(context.Background(), policy, metav1.DeleteOptions{})
	})
	nodePort := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "np"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
		Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(8080)}}}}
	var err error
	poll(ctx, t, "the NodePort Service to be refused with the host's message", func() bool {
		_, err = vc.CoreV1().Services("default").Create(ctx, nodePort, metav1.CreateOptions{})
		if err == nil {
			_ = vc.CoreV1().Services("default").Delete(ctx, "np", metav1.DeleteOptions{})
		}
		return err != nil && strings.Contains(err.Error(), "NodePort services are not allowed")
	})
	if _, err := vc.CoreV1().Services("default").Get(ctx, "np", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("refused Service exists in the virtual cluster: %v", err)
	}

	clash := translate.HostName("shared", "default", "refuse")
	if _, err := hc.CoreV1().ConfigMaps(hostNS).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: clash}, Data: map[string]string{"owner": "someone-else"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := vc.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shared"}, Data: map[string]string{"owner": "tenant"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	user := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "user"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "hello", Image: images.Hello.Ref, ImagePullPolicy: corev1.PullIfNotPresent,
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "shared"}}}}}}}}
	if _, err := vc.CoreV1().Pods("default").Create(ctx, user, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "a NameConflict event on the virtual ConfigMap", func() bool {
		evs, err := vc.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=shared"})
		if err != nil {
			return false
		}
		for _, e := range evs.Items {
			if e.Reason == "NameConflict" {
				return true
			}
		}
		return false
	})
	if cm, err := hc.CoreV1().ConfigMaps(hostNS).Get(ctx, clash, metav1.GetOptions{}); err != nil || cm.Data["owner"] != "someone-else" {
		t.Fatalf("the host object vkube does not own was changed: %v %v", cm, err)
	}
}

// TestMapServices: seed 000's cert-manager mapping (fromHost) and seed 004 §4.2 (fromVirtual, to
// a bare name: the host namespace), each with an HTTP request through the mapped Service. The
// mirrors follow their sources and come back when deleted, at once (informers, not a poll).
func TestMapServices(t *testing.T) {
	_, hc := requireHostClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	infra := "infra-e2e"
	if _, err := hc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: infra}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hc.CoreV1().Namespaces().Delete(context.Background(), infra, metav1.DeleteOptions{}) })
	deployHello(ctx, t, hc, infra, "echo")
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(`mapServices:
  fromHost:
    - from: `+infra+`/echo
      to: kube-system/echo
  fromVirtual:
    - from: default/hello
      to: hello-mirror
`), 0o600); err != nil {
		t.Fatal(err)
	}
	v, _, hostNS := startOnHostWith(t, "maps", "-f", values)
	vc := v.Client()
	deployHello(ctx, t, vc, "default", "hello")
	pods, _ := vc.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=hello"})
	var out string
	var err error
	poll(ctx, t, "a virtual pod reaching the host Service through kube-system/echo", func() bool {
		out, err = execIn(ctx, v, "default", pods.Items[0].Name, "/hello", "get", "http://echo.kube-system/")
		return err == nil && strings.Contains(out, "200 OK")
	})
	hostPods, _ := hc.CoreV1().Pods(infra).List(ctx, metav1.ListOptions{LabelSelector: "app=echo"})
	poll(ctx, t, "a host pod reaching the virtual Service through "+hostNS+"/hello-mirror", func() bool {
		mirror, err := hc.CoreV1().Services(hostNS).Get(ctx, "hello-mirror", metav1.GetOptions{})
		if err != nil {
			return false
		}
		out, err = hostExec(ctx, t, infra, hostPods.Items[0].Name, "/hello", "get", "http://"+mirror.Spec.ClusterIP+"/")
		return err == nil && strings.Contains(out, "200 OK")
	})

	// The tenant deletes the mirror of the host Service; the host admin adds a port to its source.
	if err := vc.CoreV1().Services("kube-system").Delete(ctx, "echo", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	src, err := hc.CoreV1().Services(infra).Get(ctx, "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src.Spec.Ports = append(src.Spec.Ports, corev1.ServicePort{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt(8080)})
	src.Spec.Ports[0].Name = "http"
	if _, err := hc.CoreV1().Services(infra).Update(ctx, src, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fast, fcancel := context.WithTimeout(ctx, 15*time.Second)
	defer fcancel()
	poll(fast, t, "the mirror back with the source's new port", func() bool {
		m, err := vc.CoreV1().Services("kube-system").Get(fast, "echo", metav1.GetOptions{})
		return err == nil && m.Spec.ClusterIP == src.Spec.ClusterIP && len(m.Spec.Ports) == 2
	})
	// The tenant's Service loses its pods: the host mirror's endpoints follow.
	if err := vc.AppsV1().Deployments("default").Delete(ctx, "hello", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, time.Minute)
	defer pcancel()
	poll(pctx, t, "the host mirror's endpoints following the tenant's Service (no ready pod left)", func() bool {
		list, err := hc.DiscoveryV1().EndpointSlices(hostNS).List(pctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=hello-mirror"})
		if err != nil || len(list.Items) != 1 {
			return false
		}
		for _, e := range list.Items[0].Endpoints {
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				return false
			}
		}
		return true
	})
}

func deployHello(ctx context.Context, t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	d := helloDeployment(name, 1)
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(8080)}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, name+" ready in "+ns, func() bool {
		got, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && got.Status.ReadyReplicas == 1
	})
}

// TestIngressSync: with ingress sync on (seed 003's values), a virtual Ingress gets a host twin
// whose backend is the host twin of the virtual Service.
func TestIngressSync(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("sync:\n  ingresses:\n    enabled: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, hc, hostNS := startOnHostWith(t, "ingress", "-f", values)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vc := v.Client()
	prefix := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "web.example.com",
		IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix,
			Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}}
	if _, err := vc.NetworkingV1().Ingresses("default").Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the host Ingress pointing at the Service's host twin", func() bool {
		h, err := hc.NetworkingV1().Ingresses(hostNS).Get(ctx, translate.HostName("web", "default", "ingress"), metav1.GetOptions{})
		return err == nil && h.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name == translate.HostName("web", "default", "ingress")
	})
}
