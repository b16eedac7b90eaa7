package e2e

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/binaries"
	"vkube.io/vkube/syncer/translate"
	"vkube.io/vkube/test/framework"
	"vkube.io/vkube/test/images"
)

// startOnHost runs a local vkube whose virtual cluster lives in host namespace vc-NAME.
func startOnHost(t *testing.T, name string) (*framework.VCluster, kubernetes.Interface, string) {
	t.Helper()
	return startOnHostWith(t, name)
}

func startOnHostWith(t *testing.T, name string, args ...string) (*framework.VCluster, kubernetes.Interface, string) {
	t.Helper()
	h, hc := requireHostClient(t)
	ns := "vc-" + name
	hostNamespace(t, hc, ns)
	v := framework.New(t, vkubeBin, name, append([]string{"--host-kubeconfig", h.Kubeconfig(), "--host-namespace", ns,
		"--bind-address", "0.0.0.0", "--advertise-address", h.Config().NodeIP}, args...)...)
	v.Start()
	v.WaitReady(3 * time.Minute)
	return v, hc, ns
}

// hostNamespace creates a host namespace that the test's end deletes, waiting out one an
// earlier run left terminating.
func hostNamespace(t *testing.T, hc kubernetes.Interface, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	poll(ctx, t, "host namespace "+ns, func() bool {
		_, err := hc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			live, gerr := hc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			return gerr == nil && live.DeletionTimestamp == nil
		}
		return err == nil
	})
	t.Cleanup(func() {
		_ = hc.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
}

func helloDeployment(name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(replicas),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "hello", Image: images.Hello.Ref, ImagePullPolicy: corev1.PullIfNotPresent,
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}}},
	}}
}

// TestWorkloadsRunOnHost is seed 004 §2.4 and §4: a namespace and Deployment in the virtual
// cluster become Running pods on the host under translated names (the namespace and Deployment
// themselves stay virtual); the virtual Service carries its host twin's ClusterIP and a virtual
// pod reaches it by name; logs and exec work through the virtual API.
func TestWorkloadsRunOnHost(t *testing.T) {
	v, hc, hostNS := startOnHost(t, "demo")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	vc := v.Client()
	if _, err := vc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "web"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := vc.AppsV1().Deployments("web").Create(ctx, helloDeployment("hello", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "2 virtual pods Running with IPs", func() bool {
		pods, err := vc.CoreV1().Pods("web").List(ctx, metav1.ListOptions{LabelSelector: "app=hello"})
		if err != nil || len(pods.Items) != 2 {
			return false
		}
		for _, p := range pods.Items {
			if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || p.Spec.NodeName == "" {
				return false
			}
		}
		return true
	})
	pods, _ := vc.CoreV1().Pods("web").List(ctx, metav1.ListOptions{LabelSelector: "app=hello"})
	for _, p := range pods.Items {
		hp, err := hc.CoreV1().Pods(hostNS).Get(ctx, translate.HostName(p.Name, "web", "demo"), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("host twin of %s: %v", p.Name, err)
		}
		if hp.Status.PodIP != p.Status.PodIP || hp.Status.Phase != corev1.PodRunning {
			t.Errorf("host pod %s: phase %s IP %s, virtual IP %s", hp.Name, hp.Status.Phase, hp.Status.PodIP, p.Status.PodIP)
		}
		if hp.Annotations[translate.AnnotationToken] == "" {
			t.Errorf("host pod %s has no virtual token annotation", hp.Name)
		}
		if hp.Spec.AutomountServiceAccountToken == nil || *hp.Spec.AutomountServiceAccountToken {
			t.Errorf("host pod %s mounts host credentials", hp.Name)
		}
	}
	if _, err := hc.AppsV1().Deployments(hostNS).Get(ctx, "hello", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Deployment exists on the host: %v", err)
	}
	if _, err := hc.CoreV1().Namespaces().Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the virtual namespace exists on the host: %v", err)
	}
	nodes, err := vc.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 1 || nodes.Items[0].Name != requireHost(t).Config().NodeName {
		t.Errorf("fake nodes: %v %v", nodes, err)
	}

	svc, err := vc.CoreV1().Services("web").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "hello"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "hello"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(8080)}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hsvc, err := hc.CoreV1().Services(hostNS).Get(ctx, translate.HostName("hello", "web", "demo"), metav1.GetOptions{})
	if err != nil || hsvc.Spec.ClusterIP != svc.Spec.ClusterIP {
		t.Fatalf("host twin of the Service: %v (virtual IP %s)", err, svc.Spec.ClusterIP)
	}
	// A Service with only generateName (as operators and `kubectl create -f` of such manifests
	// make them) gets a generated name and its twin.
	gen, err := vc.CoreV1().Services("web").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{GenerateName: "hello-"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "hello"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(8080)}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a Service with generateName: %v", err)
	}
	if !strings.HasPrefix(gen.Name, "hello-") || len(gen.Name) != len("hello-")+5 {
		t.Errorf("generated Service name %q, want hello- and five characters", gen.Name)
	}
	if twin, err := hc.CoreV1().Services(hostNS).Get(ctx, translate.HostName(gen.Name, "web", "demo"), metav1.GetOptions{}); err != nil || twin.Spec.ClusterIP != gen.Spec.ClusterIP {
		t.Errorf("host twin of the generated Service %s: %v (virtual IP %s)", gen.Name, err, gen.Spec.ClusterIP)
	}

	client := pods.Items[0].Name
	for _, url := range []string{"http://hello/", "http://hello.web/", "http://hello.web.svc.cluster.local/", "http://" + svc.Spec.ClusterIP + "/", "http://" + pods.Items[1].Status.PodIP + ":8080/"} {
		var out string
		poll(ctx, t, "a request to "+url+" from a virtual pod", func() bool {
			out, err = execIn(ctx, v, "web", client, "/hello", "get", url)
			return err == nil && strings.Contains(out, "200 OK")
		})
	}
	// The pod's own token, minted by vkube, works against the virtual API as an in-cluster client uses it.
	out, err := execIn(ctx, v, "web", client, "/hello", "whoami")
	if err != nil || !strings.Contains(out, "system:serviceaccount:web:default in namespace web") {
		t.Fatalf("whoami from a virtual pod: %q %v", out, err)
	}
	logs, err := vc.CoreV1().Pods("web").GetLogs(pods.Items[1].Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil || !bytes.Contains(logs, []byte("listening")) {
		t.Fatalf("logs through the virtual API: %q %v", logs, err)
	}
}

// TestHostTwinIsRecreatedAndDeleted: the virtual cluster is the source of truth.
func TestHostTwinIsRecreatedAndDeleted(t *testing.T) {
	v, hc, hostNS := startOnHost(t, "truth")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	vc := v.Client()
	if _, err := vc.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "user"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "hello", Image: images.Hello.Ref, ImagePullPolicy: corev1.PullIfNotPresent,
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}}}}
	if _, err := vc.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hostPod, hostCM := translate.HostName("user", "default", "truth"), translate.HostName("cfg", "default", "truth")
	poll(ctx, t, "the pod and its ConfigMap on the host", func() bool {
		_, e1 := hc.CoreV1().ConfigMaps(hostNS).Get(ctx, hostCM, metav1.GetOptions{})
		p, e2 := hc.CoreV1().Pods(hostNS).Get(ctx, hostPod, metav1.GetOptions{})
		return e1 == nil && e2 == nil && p.Status.Phase == corev1.PodRunning
	})
	poll(ctx, t, "the host kubelet's events on the virtual pod", func() bool {
		evs, err := vc.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=user"})
		if err != nil {
			return false
		}
		for _, e := range evs.Items {
			if e.Reason == "Started" && e.InvolvedObject.Kind == "Pod" {
				return true
			}
		}
		return false
	})
	if err := hc.CoreV1().ConfigMaps(hostNS).Delete(ctx, hostCM, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the deleted host ConfigMap to be recreated", func() bool {
		cm, err := hc.CoreV1().ConfigMaps(hostNS).Get(ctx, hostCM, metav1.GetOptions{})
		return err == nil && cm.Data["a"] == "1"
	})
	if err := vc.CoreV1().Pods("default").Delete(ctx, "user", metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(1))}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the virtual pod and its host twin gone", func() bool {
		_, e1 := vc.CoreV1().Pods("default").Get(ctx, "user", metav1.GetOptions{})
		_, e2 := hc.CoreV1().Pods(hostNS).Get(ctx, hostPod, metav1.GetOptions{})
		return apierrors.IsNotFound(e1) && apierrors.IsNotFound(e2)
	})
	poll(ctx, t, "the ConfigMap no pod uses to leave the host", func() bool {
		_, err := hc.CoreV1().ConfigMaps(hostNS).Get(ctx, hostCM, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// execIn runs a command in a virtual pod through the virtual API (and so vkube's kubelet proxy).
func execIn(ctx context.Context, v *framework.VCluster, ns, pod string, cmd ...string) (string, error) {
	return execWith(ctx, v.RESTConfig(), ns, pod, cmd...)
}

// hostExec runs a command in a host pod.
func hostExec(ctx context.Context, t *testing.T, ns, pod string, cmd ...string) (string, error) {
	cfg, err := requireHost(t).RESTConfig()
	if err != nil {
		return "", err
	}
	return execWith(ctx, cfg, ns, pod, cmd...)
}

func execWith(ctx context.Context, cfg *rest.Config, ns, pod string, cmd ...string) (string, error) {
	return framework.Exec(ctx, cfg, ns, pod, "hello", cmd...)
}

func poll(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// TestNewerVirtualMinor: a virtual cluster of a newer minor (KUBE_VERSION_ALT, v1.35) on the
// v1.34 host syncs a Deployment's pods and then leaves them alone: the host drops fields it does
// not know, and a syncer comparing with the live host object would rewrite them forever.
func TestNewerVirtualMinor(t *testing.T) {
	alt := os.Getenv("KUBE_VERSION_ALT")
	if alt == "" {
		alt = "v1.35.4"
	}
	if _, err := binaries.Find(alt, "kube-apiserver", "kube-controller-manager"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("missing prerequisite: %v", err)
		}
		t.Skipf("missing prerequisite: %v", err)
	}
	v, hc, hostNS := startOnHostWith(t, "newer", "--kubernetes-version", alt)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	vc := v.Client()
	if info, err := vc.Discovery().ServerVersion(); err != nil || info.GitVersion != alt {
		t.Fatalf("virtual apiserver version %v (%v), want %s", info, err, alt)
	}
	if _, err := vc.AppsV1().Deployments("default").Create(ctx, helloDeployment("hello", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	running := func() []corev1.Pod {
		pods, err := hc.CoreV1().Pods(hostNS).List(ctx, metav1.ListOptions{LabelSelector: translate.LabelManagedBy + "=newer"})
		if err != nil {
			return nil
		}
		var out []corev1.Pod
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				out = append(out, p)
			}
		}
		return out
	}
	poll(ctx, t, "2 pods Running on the host", func() bool { return len(running()) == 2 })
	time.Sleep(3 * time.Second) // status settles
	before := map[string]string{}
	for _, p := range running() {
		before[p.Name] = p.ResourceVersion
	}
	time.Sleep(15 * time.Second)
	for _, p := range running() {
		if before[p.Name] != p.ResourceVersion {
			t.Errorf("host pod %s changed while nothing changed (resourceVersion %s → %s): an update loop", p.Name, before[p.Name], p.ResourceVersion)
		}
	}
}
