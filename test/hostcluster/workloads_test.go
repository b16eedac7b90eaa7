package hostcluster_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/test/hostcluster"
	"vkube.io/vkube/test/images"
)

// workloads runs the checks in one namespace that has a hello Pod behind a Service.
type workloads struct {
	ctx    context.Context
	c      *hostcluster.Cluster
	client kubernetes.Interface
	ns     string
}

func newWorkloads(ctx context.Context, t *testing.T, c *hostcluster.Cluster) *workloads {
	client, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "hostcluster-test-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := &workloads{ctx: ctx, c: c, client: client, ns: ns.Name}
	// Pods are refused until the namespace's default ServiceAccount exists.
	w.poll(t, "default service account", func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(w.ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	hello := w.pod("hello", nil)
	hello.Labels = map[string]string{"app": "hello"}
	hello.Spec.RestartPolicy = corev1.RestartPolicyAlways
	hello.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
	hello.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}},
		PeriodSeconds: 1,
	}
	if _, err := client.CoreV1().Pods(w.ns).Create(ctx, hello, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.service(t, "hello", corev1.ServiceTypeClusterIP)
	w.poll(t, "pod hello Ready", func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(w.ns).Get(ctx, "hello", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	// Pods must not race kube-proxy: the Service answers on the host once its rules are in.
	svc, err := client.CoreV1().Services(w.ns).Get(ctx, "hello", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.poll(t, "service hello programmed by kube-proxy", func(ctx context.Context) (bool, error) {
		return strings.Contains(httpGet(ctx, "http://"+svc.Spec.ClusterIP+"/"), "hello from hello"), nil
	})
	return w
}

func (w *workloads) clusterIPFromPod(t *testing.T) {
	t.Parallel()
	svc, err := w.client.CoreV1().Services(w.ns).Get(w.ctx, "hello", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := w.run(t, w.pod("curl", []string{"get", "http://" + svc.Spec.ClusterIP + "/"}))
	if !strings.Contains(out, "hello from hello") {
		t.Fatalf("GET http://%s/ from a pod: %q", svc.Spec.ClusterIP, out)
	}
}

func (w *workloads) nonRootWritesPVC(t *testing.T) {
	t.Parallel()
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}},
		},
	}
	if _, err := w.client.CoreV1().PersistentVolumeClaims(w.ns).Create(w.ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.poll(t, "claim data Bound", func(ctx context.Context) (bool, error) {
		p, err := w.client.CoreV1().PersistentVolumeClaims(w.ns).Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pvc = p
		return p.Status.Phase == corev1.ClaimBound, nil
	})
	writer := w.pod("writer", []string{"write", "/data/written-by-1000", "ok"})
	writer.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To(int64(1000)), RunAsGroup: ptr.To(int64(1000)), RunAsNonRoot: ptr.To(true)}
	writer.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"},
	}}}
	writer.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	w.run(t, writer)
	pv, err := w.client.CoreV1().PersistentVolumes().Get(w.ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Spec.HostPath == nil {
		t.Fatalf("volume %s is not a hostPath volume", pv.Name)
	}
	got, err := os.ReadFile(filepath.Join(pv.Spec.HostPath.Path, "written-by-1000"))
	if err != nil || string(got) != "ok" {
		t.Fatalf("file written by the pod: %q, %v", got, err)
	}
}

func (w *workloads) loadBalancerFromHost(t *testing.T) {
	t.Parallel()
	w.service(t, "hello-lb", corev1.ServiceTypeLoadBalancer)
	var ip string
	w.poll(t, "load balancer address", func(ctx context.Context) (bool, error) {
		svc, err := w.client.CoreV1().Services(w.ns).Get(ctx, "hello-lb", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if in := svc.Status.LoadBalancer.Ingress; len(in) > 0 {
			ip = in[0].IP
		}
		return ip != "", nil
	})
	// kube-proxy programs the address within a sync period of seeing the status.
	var body string
	w.poll(t, "GET http://"+ip+"/ from the host", func(ctx context.Context) (bool, error) {
		body = httpGet(ctx, "http://"+ip+"/")
		return strings.Contains(body, "hello from hello"), nil
	})
}

func (w *workloads) dnsFromPod(t *testing.T) {
	t.Parallel()
	out := w.run(t, w.pod("lookup", []string{"lookup", "kubernetes.default.svc.cluster.local"}))
	if !strings.Contains(out, "10.96.0.1") {
		t.Fatalf("kubernetes.default.svc.cluster.local resolved in a pod to %q, want 10.96.0.1", out)
	}
}

// pod is a hello Pod running args once (args nil: serving).
func (w *workloads) pod(name string, args []string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To(int64(1)),
			Containers: []corev1.Container{{
				Name: "hello", Image: images.Hello.Ref, ImagePullPolicy: corev1.PullIfNotPresent, Args: args,
			}},
		},
	}
}

// run creates pod, waits for it to succeed and returns its output.
func (w *workloads) run(t *testing.T, pod *corev1.Pod) string {
	t.Helper()
	if _, err := w.client.CoreV1().Pods(w.ns).Create(w.ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var phase corev1.PodPhase
	w.poll(t, "pod "+pod.Name+" to finish", func(ctx context.Context) (bool, error) {
		p, err := w.client.CoreV1().Pods(w.ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		phase = p.Status.Phase
		return phase == corev1.PodSucceeded || phase == corev1.PodFailed, nil
	})
	logs, err := w.client.CoreV1().Pods(w.ns).GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(w.ctx)
	if err != nil {
		t.Fatalf("logs of pod %s: %v", pod.Name, err)
	}
	if phase != corev1.PodSucceeded {
		t.Fatalf("pod %s %s: %s", pod.Name, phase, logs)
	}
	return string(logs)
}

func (w *workloads) service(t *testing.T, name string, typ corev1.ServiceType) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:     typ,
			Selector: map[string]string{"app": "hello"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if _, err := w.client.CoreV1().Services(w.ns).Create(w.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (w *workloads) poll(t *testing.T, what string, cond wait.ConditionWithContextFunc) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(w.ctx, 200*time.Millisecond, time.Minute, true, cond); err != nil {
		t.Fatalf("wait for %s: %v", what, err)
	}
}

func httpGet(ctx context.Context, url string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%s %s", resp.Status, body)
}
