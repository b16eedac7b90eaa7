package e2e

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
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/syncer/translate"
	"vkube.io/vkube/test/framework"
	"vkube.io/vkube/test/images"
)

// TestStorageAndPortForward: a PVC binds on the host and a non-root pod writes to it; port-forward
// through the virtual kubeconfig reaches the pod; the fake node goes when its last pod does.
func TestStorageAndPortForward(t *testing.T) {
	v, _, _ := startOnHost(t, "store")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	vc := v.Client()
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	if _, err := vc.CoreV1().PersistentVolumeClaims("default").Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "writer"}, Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To(int64(1000)), RunAsNonRoot: ptr.To(true)},
		Containers: []corev1.Container{{Name: "hello", Image: images.Hello.Ref, ImagePullPolicy: corev1.PullIfNotPresent,
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
		Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
	}}
	if _, err := vc.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the claim Bound and the pod Running", func() bool {
		c, err := vc.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
		p, err2 := vc.CoreV1().Pods("default").Get(ctx, "writer", metav1.GetOptions{})
		return err == nil && err2 == nil && c.Status.Phase == corev1.ClaimBound && p.Status.Phase == corev1.PodRunning
	})
	if out, err := execIn(ctx, v, "default", "writer", "/hello", "write", "/data/proof", "written-by-1000"); err != nil {
		t.Fatalf("writing to the volume: %v %s", err, out)
	}

	if body := portForwardGet(ctx, t, v.RESTConfig(), "default", "writer", "/pf"); !strings.Contains(body, "hello from writer") {
		t.Fatalf("port-forward answer %q", body)
	}

	if err := vc.CoreV1().Pods("default").Delete(ctx, "writer", metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the fake node to go with its last pod", func() bool {
		nodes, err := vc.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		return err == nil && len(nodes.Items) == 0
	})
}

// portForwardGet forwards a local port to pod's 8080 through the API of cfg and GETs path.
func portForwardGet(ctx context.Context, t *testing.T, cfg *rest.Config, ns, pod, path string) string {
	t.Helper()
	local := framework.FreePort(t)
	stop, ready := make(chan struct{}), make(chan struct{})
	defer close(stop)
	tr, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	url := kubernetes.NewForConfigOrDie(cfg).CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("portforward").URL()
	fw, err := portforward.NewOnAddresses(spdy.NewDialer(upgrader, &http.Client{Transport: tr}, "POST", url), []string{"127.0.0.1"},
		[]string{fmt.Sprintf("%d:8080", local)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = fw.ForwardPorts() }()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("port-forward not ready")
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", local, path))
	if err != nil {
		t.Fatalf("through port-forward: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// TestLongNames: names whose host form exceeds 63 characters get the truncate-plus-hash name and
// still run.
func TestLongNames(t *testing.T) {
	v, hc, hostNS := startOnHost(t, "a-rather-long-virtual-cluster")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	vc := v.Client()
	ns := "team-with-a-long-namespace-name"
	if _, err := vc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	name := "pod-with-a-name-long-enough-to-overflow-the-host-limit"
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "hello", Image: images.Hello.Ref, ImagePullPolicy: corev1.PullIfNotPresent}}}}
	if _, err := vc.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hostName := translate.HostName(name, ns, "a-rather-long-virtual-cluster")
	if len(hostName) != 63 {
		t.Fatalf("host name %q is %d characters", hostName, len(hostName))
	}
	poll(ctx, t, "the long-named pod Running on the host and in the virtual cluster", func() bool {
		hp, err := hc.CoreV1().Pods(hostNS).Get(ctx, hostName, metav1.GetOptions{})
		vp, err2 := vc.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && err2 == nil && hp.Status.Phase == corev1.PodRunning && vp.Status.Phase == corev1.PodRunning
	})
}

// TestSupervisorKilledMidRollout kills vkube with SIGKILL while 40 pods are being synced; after
// a restart the host has exactly the virtual pods' twins, none orphaned, none twice.
func TestSupervisorKilledMidRollout(t *testing.T) {
	v, hc, hostNS := startOnHost(t, "rollout")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	vc := v.Client()
	if _, err := vc.AppsV1().Deployments("default").Create(ctx, helloDeployment("many", 40), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the rollout to be under way on the host", func() bool {
		pods, err := hc.CoreV1().Pods(hostNS).List(ctx, metav1.ListOptions{LabelSelector: translate.LabelManagedBy + "=rollout"})
		return err == nil && len(pods.Items) >= 5
	})
	v.Kill9()
	v.Start()
	v.WaitReady(3 * time.Minute)
	vc = v.Client()
	scale, err := vc.AppsV1().Deployments("default").GetScale(ctx, "many", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 25
	if _, err := vc.AppsV1().Deployments("default").UpdateScale(ctx, "many", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "host pods to match the 25 virtual pods exactly", func() bool {
		vpods, err := vc.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=many"})
		if err != nil {
			return false
		}
		hpods, err := hc.CoreV1().Pods(hostNS).List(ctx, metav1.ListOptions{LabelSelector: translate.LabelManagedBy + "=rollout"})
		if err != nil {
			return false
		}
		want := map[string]bool{}
		for _, p := range vpods.Items {
			if p.DeletionTimestamp == nil {
				want[translate.HostName(p.Name, "default", "rollout")] = true
			}
		}
		if len(want) != 25 {
			return false
		}
		got := 0
		for _, p := range hpods.Items {
			if p.DeletionTimestamp != nil {
				return false
			}
			if !want[p.Name] {
				return false
			}
			got++
		}
		return got == 25
	})
}

// TestRealNodesAndVirtualScheduler is seed 004 §8: real nodes mirrored from the host, a scheduler
// in the virtual cluster, a node label set in the virtual cluster steering a Deployment's pods.
func TestRealNodesAndVirtualScheduler(t *testing.T) {
	values := filepath.Join(t.TempDir(), "schedule.yaml")
	if err := os.WriteFile(values, []byte("sync:\n  nodes:\n    enableScheduler: true\n    enabled: true\n    syncAllNodes: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, hc, hostNS := startOnHostWith(t, "sched", "-f", values)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	vc := v.Client()
	node := requireHost(t).Config().NodeName
	poll(ctx, t, "the host node mirrored into the virtual cluster", func() bool {
		n, err := vc.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		return err == nil && len(n.Status.Conditions) > 0
	})
	n, _ := vc.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	n.Labels["disktype"] = "ssd"
	if _, err := vc.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := helloDeployment("pinned", 2)
	d.Spec.Template.Spec.NodeSelector = map[string]string{"disktype": "ssd"}
	if _, err := vc.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the pinned pods scheduled in the virtual cluster and Running on that host node", func() bool {
		pods, err := vc.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=pinned"})
		if err != nil || len(pods.Items) != 2 {
			return false
		}
		for _, p := range pods.Items {
			hp, err := hc.CoreV1().Pods(hostNS).Get(ctx, translate.HostName(p.Name, "default", "sched"), metav1.GetOptions{})
			if err != nil || p.Spec.NodeName != node || hp.Spec.NodeName != node || p.Status.Phase != corev1.PodRunning {
				return false
			}
		}
		return true
	})
	n, _ = vc.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if n.Labels["disktype"] != "ssd" {
		t.Error("the label set in the virtual cluster was overwritten by the host's")
	}
	miss := helloDeployment("nowhere", 1)
	miss.Spec.Template.Spec.NodeSelector = map[string]string{"disktype": "tape"}
	if _, err := vc.AppsV1().Deployments("default").Create(ctx, miss, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	pods, _ := vc.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=nowhere"})
	for _, p := range pods.Items {
		if p.Spec.NodeName != "" {
			t.Errorf("pod %s was placed on %s despite its node selector", p.Name, p.Spec.NodeName)
		}
		if _, err := hc.CoreV1().Pods(hostNS).Get(ctx, translate.HostName(p.Name, "default", "sched"), metav1.GetOptions{}); err == nil {
			t.Errorf("unschedulable pod %s was synced to the host", p.Name)
		}
	}
}
