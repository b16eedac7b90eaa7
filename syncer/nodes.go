package syncer

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// fakeNodes keeps one virtual Node per host node that runs a synced pod. Its address and kubelet
// port are vkube's own kubelet endpoint, so logs/exec/port-forward reach vkube, which proxies
// them to the host API.
type fakeNodes struct {
	virtual kubernetes.Interface
	address string
	port    int
	log     *slog.Logger
	mu      sync.Mutex
	known   map[string]bool
	// disabled: real nodes are mirrored instead.
	disabled bool
}

const labelFakeNode = "vkube.io/fake-node"

func (n *fakeNodes) ensure(ctx context.Context, name string) error {
	if n.disabled {
		return nil
	}
	n.mu.Lock()
	known := n.known[name]
	n.mu.Unlock()
	if known {
		return nil
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			labelFakeNode: "true", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
		}},
	}
	_, err := n.virtual.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := n.heartbeat(ctx, name); err != nil {
		return err
	}
	n.mu.Lock()
	n.known[name] = true
	n.mu.Unlock()
	n.log.Info("fake node added", "node", name)
	return nil
}

// heartbeat writes a Ready status with vkube's kubelet endpoint.
func (n *fakeNodes) heartbeat(ctx context.Context, name string) error {
	node, err := n.virtual.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("16"), corev1.ResourceMemory: resource.MustParse("64Gi"),
		corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	node.Status = corev1.NodeStatus{
		Capacity: capacity, Allocatable: capacity,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "host node runs the synced pods", LastHeartbeatTime: now, LastTransitionTime: now}},
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.address}, {Type: corev1.NodeHostName, Address: name}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(n.port)}},
		NodeInfo:        corev1.NodeSystemInfo{KubeletVersion: "v0.0.0-vkube", OperatingSystem: "linux", Architecture: "amd64"},
	}
	_, err = n.virtual.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	return err
}

// gc removes fake nodes no virtual pod is bound to any more, and refreshes the others, at once
// (a restarted vkube serves its kubelet endpoint on a new port) and then periodically.
func (n *fakeNodes) gc(ctx context.Context) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		nodes, err := n.virtual.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: labelFakeNode + "=true"})
		if err != nil {
			continue
		}
		for _, node := range nodes.Items {
			pods, err := n.virtual.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node.Name).String(), Limit: 1})
			if err != nil {
				continue
			}
			if len(pods.Items) > 0 {
				_ = n.heartbeat(ctx, node.Name)
				continue
			}
			if err := n.virtual.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{}); err == nil {
				n.mu.Lock()
				delete(n.known, node.Name)
				n.mu.Unlock()
				n.log.Info("fake node removed: no virtual pod runs on it", "node", node.Name)
			}
		}
	}
}
