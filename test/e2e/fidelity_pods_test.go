package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/syncer/translate"
	"vkube.io/vkube/test/images"
)

// TestPodLifecycleFidelity is issue 14's eviction and pod-update behaviours, each as a workload
// would meet it in a real cluster: `kubectl drain`'s eviction of a PDB-guarded StatefulSet pod,
// a Job ignoring disruptions by its podFailurePolicy, activeDeadlineSeconds set on a running pod,
// `kubectl debug`'s ephemeral container and its logs, and a readiness gate the tenant sets.
func TestPodLifecycleFidelity(t *testing.T) {
	v, hc, hostNS := startOnHost(t, "fidelity")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	vc := v.Client()
	t.Run("eviction replaces a StatefulSet pod", func(t *testing.T) { evictStatefulSetPod(ctx, t, vc) })
	t.Run("a Job ignores an eviction by its podFailurePolicy", func(t *testing.T) { evictJobPod(ctx, t, vc) })
	t.Run("activeDeadlineSeconds set on a running pod fails it", func(t *testing.T) { deadlineOnRunningPod(ctx, t, vc) })
	t.Run("kubectl debug runs an ephemeral container", func(t *testing.T) { debugContainer(ctx, t, vc, hc, hostNS, v.Kubeconfig()) })
	t.Run("a readiness gate the tenant sets makes the pod Ready", func(t *testing.T) { readinessGate(ctx, t, vc) })
	t.Run("host events read in virtual names", func(t *testing.T) { eventsInVirtualNames(ctx, t, vc) })
	t.Run("the node proxy reaches vkube's kubelet, not the host's", func(t *testing.T) { nodeProxy(ctx, t, vc) })
	t.Run("an in-place resize reaches the host pod", func(t *testing.T) { resizeInPlace(ctx, t, vc, hc, hostNS) })
	t.Run("a dotted pod name runs", func(t *testing.T) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web.v1", Labels: map[string]string{"app": "dotted"}}, Spec: helloSpec()}
		if _, err := vc.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		runningPod(ctx, t, vc, "default", "app=dotted")
	})
}

// nodeProxy: `kubectl get --raw /api/v1/nodes/NODE/proxy/...` answers from vkube's kubelet
// endpoint: its health, and a clear refusal of the host node's own stats.
func nodeProxy(ctx context.Context, t *testing.T, vc kubernetes.Interface) {
	p, err := vc.CoreV1().Pods("default").Get(ctx, "gated", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	proxy := func(path string) ([]byte, error) {
		return vc.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/" + p.Spec.NodeName + "/proxy/" + path).DoRaw(ctx)
	}
	if out, err := proxy("healthz"); err != nil || string(out) != "ok" {
		t.Errorf("node proxy healthz: %q %v", out, err)
	}
	if out, err := proxy("stats/summary"); err == nil || !strings.Contains(err.Error()+string(out), "vkube kubelet") {
		t.Errorf("node proxy stats/summary: %q %v; want vkube's refusal", out, err)
	}
}

// eventsInVirtualNames: the host scheduler's event about the gated pod's twin, as the tenant
// reads it.
func eventsInVirtualNames(ctx context.Context, t *testing.T, vc kubernetes.Interface) {
	var msg string
	poll(ctx, t, "the Scheduled event of pod gated", func() bool {
		evs, err := vc.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=gated,reason=Scheduled"})
		if err != nil || len(evs.Items) == 0 {
			return false
		}
		msg = evs.Items[0].Message
		return true
	})
	if !strings.HasPrefix(msg, "Successfully assigned default/gated to ") {
		t.Errorf("the tenant reads %q: want the virtual name default/gated", msg)
	}
}

func helloSpec() corev1.PodSpec {
	return corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To(int64(2)),
		Containers: []corev1.Container{{Name: "hello", Image: images.Hello.Ref, ImagePullPolicy: corev1.PullIfNotPresent}}}
}

func runningPod(ctx context.Context, t *testing.T, vc kubernetes.Interface, ns, selector string) corev1.Pod {
	t.Helper()
	var pod corev1.Pod
	poll(ctx, t, "a Running pod "+selector, func() bool {
		pods, err := vc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				pod = p
				return true
			}
		}
		return false
	})
	return pod
}

func evict(ctx context.Context, t *testing.T, vc kubernetes.Interface, pod corev1.Pod) {
	t.Helper()
	err := vc.PolicyV1().Evictions(pod.Namespace).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace}})
	if err != nil {
		t.Fatalf("evicting %s: %v", pod.Name, err)
	}
}

func evictStatefulSetPod(ctx context.Context, t *testing.T, vc kubernetes.Interface) {
	labels := map[string]string{"app": "db"}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(int32(1)),
		Selector: &metav1.LabelSelector{MatchLabels: labels}, ServiceName: "db",
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: helloSpec()}}}
	if _, err := vc.AppsV1().StatefulSets("default").Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: policyv1.PodDisruptionBudgetSpec{
		MaxUnavailable: ptr.To(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	if _, err := vc.PolicyV1().PodDisruptionBudgets("default").Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	first := runningPod(ctx, t, vc, "default", "app=db")
	poll(ctx, t, "the PDB allowing a disruption", func() bool {
		p, err := vc.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "db", metav1.GetOptions{})
		return err == nil && p.Status.DisruptionsAllowed == 1
	})
	evict(ctx, t, vc, first)
	poll(ctx, t, "the StatefulSet's new db-0 Running", func() bool {
		p, err := vc.CoreV1().Pods("default").Get(ctx, "db-0", metav1.GetOptions{})
		return err == nil && p.UID != first.UID && p.Status.Phase == corev1.PodRunning
	})
}

func evictJobPod(ctx context.Context, t *testing.T, vc kubernetes.Interface) {
	spec := helloSpec()
	spec.RestartPolicy = corev1.RestartPolicyNever
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "batch"}, Spec: batchv1.JobSpec{BackoffLimit: ptr.To(int32(0)),
		PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionIgnore,
			OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}}}},
		Template: corev1.PodTemplateSpec{Spec: spec}}}
	if _, err := vc.BatchV1().Jobs("default").Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	first := runningPod(ctx, t, vc, "default", "job-name=batch")
	evict(ctx, t, vc, first)
	poll(ctx, t, "the evicted pod Failed with its DisruptionTarget", func() bool {
		p, err := vc.CoreV1().Pods("default").Get(ctx, first.Name, metav1.GetOptions{})
		if err != nil {
			return true // gone: the Job controller let go of it, checked below
		}
		return p.Status.Phase == corev1.PodFailed && hasPodCondition(p, corev1.DisruptionTarget)
	})
	second := runningPod(ctx, t, vc, "default", "job-name=batch")
	if second.UID == first.UID {
		t.Fatalf("no replacement pod")
	}
	j, err := vc.BatchV1().Jobs("default").Get(ctx, "batch", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status.Failed != 0 {
		t.Errorf("the Job counts %d failed pods: the eviction was not ignored", j.Status.Failed)
	}
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			t.Errorf("the Job failed: %s", c.Message)
		}
	}
}

func hasPodCondition(p *corev1.Pod, ct corev1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == ct && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func deadlineOnRunningPod(ctx context.Context, t *testing.T, vc kubernetes.Interface) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "deadline", Labels: map[string]string{"app": "deadline"}}, Spec: helloSpec()}
	if _, err := vc.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	runningPod(ctx, t, vc, "default", "app=deadline")
	if _, err := vc.CoreV1().Pods("default").Patch(ctx, "deadline", types.MergePatchType, []byte(`{"spec":{"activeDeadlineSeconds":5}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the pod Failed at its deadline", func() bool {
		p, err := vc.CoreV1().Pods("default").Get(ctx, "deadline", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodFailed && p.Status.Reason == "DeadlineExceeded"
	})
}

func debugContainer(ctx context.Context, t *testing.T, vc, hc kubernetes.Interface, hostNS, kubeconfig string) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "debugged", Labels: map[string]string{"app": "debugged"}}, Spec: helloSpec()}
	if _, err := vc.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	runningPod(ctx, t, vc, "default", "app=debugged")
	kubectl := filepath.Join(kubectlDir(), "kubectl")
	out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "debug", "debugged", "--image", images.Hello.Ref,
		"--image-pull-policy", "IfNotPresent", "--container", "debugger", "--", "/hello", "lookup", "kubernetes.default").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl debug: %v\n%s", err, out)
	}
	var logs []byte
	poll(ctx, t, "the ephemeral container's output through kubectl logs", func() bool {
		logs, err = exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "logs", "debugged", "-c", "debugger").CombinedOutput()
		return err == nil && strings.TrimSpace(string(logs)) != ""
	})
	p, err := vc.CoreV1().Pods("default").Get(ctx, "debugged", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Status.EphemeralContainerStatuses) != 1 || p.Status.EphemeralContainerStatuses[0].Name != "debugger" {
		t.Errorf("ephemeral container statuses %+v", p.Status.EphemeralContainerStatuses)
	}
	t.Logf("the debugger resolved kubernetes.default:\n%s", logs)

	// The attack: a privileged debug container (kubectl debug --profile=sysadmin) onto the node.
	out, err = exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "debug", "debugged", "--image", images.Hello.Ref, "--profile", "sysadmin",
		"--image-pull-policy", "IfNotPresent", "--container", "root", "--", "/hello", "lookup", "kubernetes.default").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl debug --profile=sysadmin: %v\n%s", err, out)
	}
	poll(ctx, t, "SyncError for the privileged debug container", func() bool {
		return hasEvent(ctx, vc, "default", "debugged", "SyncError", "privileged")
	})
	twin, err := hc.CoreV1().Pods(hostNS).Get(ctx, translate.HostName("debugged", "default", "fidelity"), metav1.GetOptions{})
	if err != nil || twin.DeletionTimestamp != nil || len(twin.Spec.EphemeralContainers) != 1 || twin.Status.Phase != corev1.PodRunning {
		t.Fatalf("the host twin after the refused debug container: %v %+v", err, twin)
	}
}

func readinessGate(ctx context.Context, t *testing.T, vc kubernetes.Interface) {
	spec := helloSpec()
	spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/ready"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "gated", Labels: map[string]string{"app": "gated"}}, Spec: spec}
	if _, err := vc.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := runningPod(ctx, t, vc, "default", "app=gated")
	if hasPodCondition(&p, corev1.PodReady) {
		t.Fatalf("Ready before its readiness gate is set")
	}
	patch := `{"status":{"conditions":[{"type":"example.com/ready","status":"True","lastTransitionTime":"` + time.Now().UTC().Format(time.RFC3339) + `"}]}}`
	if _, err := vc.CoreV1().Pods("default").Patch(ctx, "gated", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the gated pod Ready", func() bool {
		p, err := vc.CoreV1().Pods("default").Get(ctx, "gated", metav1.GetOptions{})
		return err == nil && hasPodCondition(p, corev1.PodReady)
	})
}

func resizeInPlace(ctx context.Context, t *testing.T, vc, hc kubernetes.Interface, hostNS string) {
	spec := helloSpec()
	spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("64Mi")}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "resized", Labels: map[string]string{"app": "resized"}}, Spec: spec}
	if _, err := vc.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := runningPod(ctx, t, vc, "default", "app=resized")
	p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("150m")
	p.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("300m")
	if _, err := vc.CoreV1().Pods("default").UpdateResize(ctx, "resized", &p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the host pod resized", func() bool {
		h, err := hc.CoreV1().Pods(hostNS).Get(ctx, translate.HostName("resized", "default", "fidelity"), metav1.GetOptions{})
		return err == nil && h.Spec.Containers[0].Resources.Requests.Cpu().MilliValue() == 150 && h.Spec.Containers[0].Resources.Limits.Cpu().MilliValue() == 300
	})
	poll(ctx, t, "the resize in the virtual pod's status", func() bool {
		v, err := vc.CoreV1().Pods("default").Get(ctx, "resized", metav1.GetOptions{})
		return err == nil && len(v.Status.ContainerStatuses) == 1 && v.Status.ContainerStatuses[0].Resources != nil &&
			v.Status.ContainerStatuses[0].Resources.Requests.Cpu().MilliValue() == 150
	})
}
