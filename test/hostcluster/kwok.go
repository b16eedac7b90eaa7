package hostcluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/binaries"
)

// The optional kwok node: Node KwokNodeName, whose kubelet is kwok (sigs.k8s.io/kwok), which
// plays every pod bound to it through its stages instead of running containers: Pending →
// Running at once, a deleted pod gone at once. The real kubelet holds 50 pods and starts about
// three a second; the kwok node holds KwokNodePods, so benchmarks can measure what is not the
// kubelet. It is off unless UpKwokNode adds it, and tainted, so only pods that ask land there.
const (
	KwokNodeName = "kwok-node-0"
	// KwokKey is the annotation kwok picks its nodes by and the key of the node's NoSchedule
	// taint, both with value KwokValue.
	KwokKey   = "kwok.x-k8s.io/node"
	KwokValue = "fake"
	// KwokNodePods is the node's pod capacity.
	KwokNodePods = 1000
	kwokName     = "kwok"
	// kwokPodCIDR is where kwok takes pod IPs from: outside the bridge's PodCIDR and the
	// ServiceCIDR, and wide enough for KwokNodePods (kwok's default is a /24).
	kwokPodCIDR = "10.250.0.0/16"
	// kwokNodeIP is the node's InternalIP: nothing listens there, nothing dials it.
	kwokNodeIP = "10.251.0.1"
)

// KwokToleration lets a pod onto the kwok node.
func KwokToleration() corev1.Toleration {
	return corev1.Toleration{Key: KwokKey, Operator: corev1.TolerationOpEqual, Value: KwokValue, Effect: corev1.TaintEffectNoSchedule}
}

// KwokNodeSelector keeps a pod off every other node.
func KwokNodeSelector() map[string]string { return map[string]string{"type": "kwok"} }

// FindKwok is the kwok binary of hack/kwok.sh (the newest version in the cache whose stages
// file is next to it), or "" when it was not built.
func FindKwok() string {
	return newestTool("kwok", "kwok", func(bin string) bool { return exists(kwokStages(bin)) })
}

// newestTool is binary in the newest cache dir tools/<tool>-vX.Y.Z that holds it executable
// (and complete says is whole), or "".
func newestTool(tool, binary string, complete func(bin string) bool) string {
	dirs, _ := filepath.Glob(filepath.Join(binaries.CacheDir(), "tools", tool+"-v*"))
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(b)[len(tool)+1:], filepath.Base(a)[len(tool)+1:])
	})
	for _, d := range dirs {
		if bin := filepath.Join(d, binary); executable(bin) && (complete == nil || complete(bin)) {
			return bin
		}
	}
	return ""
}

// kwokStages is the stages file hack/kwok.sh writes next to the binary.
func kwokStages(bin string) string { return filepath.Join(filepath.Dir(bin), "stages.yaml") }

// UpKwokNode adds the kwok node to the running cluster and waits until the scheduler can place
// pods on it: kwok runs detached like the other components (its own copy of the binary in
// Dir/bin, so Down removes it with everything else), against the admin kubeconfig. kwokBinary ""
// means FindKwok. It reports whether it started kwok, so that a caller can leave a node it found
// running as it was.
func (c *Cluster) UpKwokNode(ctx context.Context, kwokBinary string) (started bool, err error) {
	if kwokBinary == "" {
		kwokBinary = FindKwok()
	}
	if kwokBinary == "" {
		return false, fmt.Errorf("kwok node: %w", &PrerequisiteError{Missing: []string{"kwok (build it with `make kwok` or hack/kwok.sh)"}})
	}
	if !exists(kwokStages(kwokBinary)) {
		return false, fmt.Errorf("kwok node: no %s next to %s: run hack/kwok.sh again", filepath.Base(kwokStages(kwokBinary)), kwokBinary)
	}
	l := newLayout(c.cfg.Dir)
	bin := l.bin(kwokName)
	if _, running := l.livePID(kwokName, bin); !running {
		// Overwriting a running executable fails with "text file busy".
		if err := copyFile(kwokBinary, bin, 0o755); err != nil {
			return false, fmt.Errorf("kwok node: %w", err)
		}
		if err := copyFile(kwokStages(kwokBinary), l.etc("kwok-stages.yaml"), 0o644); err != nil {
			return false, fmt.Errorf("kwok node: %w", err)
		}
	}
	client, err := c.Client()
	if err != nil {
		return false, err
	}
	if err := ensureKwokNode(ctx, client); err != nil {
		return false, err
	}
	started, err = l.ensureRunning(proc{name: kwokName, path: bin, args: []string{
		"--kubeconfig=" + l.kubeconfig(),
		"--config=" + l.etc("kwok-stages.yaml"),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + KwokKey + "=" + KwokValue,
		// The node-lifecycle controller reads the lease: without it the node goes NotReady.
		"--node-lease-duration-seconds=40",
		"--cidr=" + kwokPodCIDR,
		"--node-ip=" + kwokNodeIP,
		// At INFO it logs every status patch: lines, not information, with a thousand pods.
		"--v=WARN",
	}})
	if err != nil {
		return false, fmt.Errorf("kwok node: %w", err)
	}
	err = wait.PollUntilContextTimeout(ctx, pollInterval, waitTimeout, true, func(ctx context.Context) (bool, error) {
		if _, ok := l.livePID(kwokName, bin); !ok {
			return false, fmt.Errorf("kwok exited; end of %s:\n%s", l.logFile(kwokName), tail(l.logFile(kwokName), 15))
		}
		return kwokNodeSchedulable(ctx, client), nil
	})
	if err != nil {
		return started, fmt.Errorf("kwok node: wait for %s Ready without the node controller's taints: %w", KwokNodeName, err)
	}
	return started, nil
}

// ensureKwokNode creates the Node kwok then keeps Ready; its status is given on create
// (capacity, allocatable), which kwok's node-initialize stage keeps.
func ensureKwokNode(ctx context.Context, client kubernetes.Interface) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1000"),
		corev1.ResourceMemory: resource.MustParse("1Ti"),
		corev1.ResourcePods:   *resource.NewQuantity(KwokNodePods, resource.DecimalSI),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        KwokNodeName,
			Annotations: map[string]string{KwokKey: KwokValue},
			Labels: map[string]string{
				"type": "kwok", corev1.LabelHostname: KwokNodeName, corev1.LabelOSStable: "linux",
				corev1.LabelArchStable: "amd64", "kubernetes.io/role": "agent",
			},
		},
		Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: KwokKey, Value: KwokValue, Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	_, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("kwok node: create node %s: %w", KwokNodeName, err)
	}
	return nil
}

// kwokNodeSchedulable: Ready, and the node controller has lifted the not-ready taint it puts on
// every new node.
func kwokNodeSchedulable(ctx context.Context, client kubernetes.Interface) bool {
	node, err := client.CoreV1().Nodes().Get(ctx, KwokNodeName, metav1.GetOptions{})
	if err != nil {
		return false
	}
	for _, t := range node.Spec.Taints {
		if t.Key != KwokKey {
			return false
		}
	}
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// DownKwokNode removes the kwok node: the pods bound to it (kwok is still there to let them
// go), the Node, then kwok. The rest of the cluster keeps running.
func (c *Cluster) DownKwokNode(ctx context.Context) error {
	client, err := c.Client()
	if err != nil {
		return err
	}
	pods := client.CoreV1().Pods(metav1.NamespaceAll)
	sel := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", KwokNodeName).String()}
	list, err := pods.List(ctx, sel)
	if err != nil {
		return fmt.Errorf("kwok node down: %w", err)
	}
	for _, p := range list.Items {
		err := client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("kwok node down: delete pod %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	// Pods of a deleted node would wait for the pod garbage collector's quarantine.
	_ = wait.PollUntilContextTimeout(ctx, pollInterval, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		left, err := pods.List(ctx, sel)
		return err == nil && len(left.Items) == 0, nil
	})
	if err := client.CoreV1().Nodes().Delete(ctx, KwokNodeName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("kwok node down: delete node %s: %w", KwokNodeName, err)
	}
	return newLayout(c.cfg.Dir).stop(kwokName, stopGrace)
}

// copyFile copies src to dst through a temporary file, so that a reader never sees half of it.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
