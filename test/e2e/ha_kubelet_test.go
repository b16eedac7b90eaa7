package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"vkube.io/vkube/names"
)

// kubeletEndpointThroughEveryReplica is issue 13's per-replica endpoints: the fake node of a
// synced pod gives the NAME-kubelet Service as its address (not the syncer's replica), so pod
// logs work through each replica's API server, and keep working through the others while the
// syncer's Lease holder is dead, before a new holder has written anything.
func (h haCluster) kubeletEndpointThroughEveryReplica(ctx context.Context, t *testing.T, c *cli, pod string) {
	t.Helper()
	// Right after the failovers, kube-proxy may not route the API Service to every replica yet.
	var node *corev1.Node
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	poll(pctx, t, "the node of pod "+pod, func() bool {
		vp, err := h.vc.CoreV1().Pods("default").Get(pctx, pod, metav1.GetOptions{})
		if err != nil || vp.Spec.NodeName == "" {
			return false
		}
		node, err = h.vc.CoreV1().Nodes().Get(pctx, vp.Spec.NodeName, metav1.GetOptions{})
		return err == nil
	})
	cancel()
	svc, err := h.hc.CoreV1().Services(h.ns).Get(ctx, names.KubeletService(h.name), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var internal string
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			internal = a.Address
		}
	}
	if internal != svc.Spec.ClusterIP || node.Status.DaemonEndpoints.KubeletEndpoint.Port != svc.Spec.Ports[0].Port {
		t.Errorf("node %s gives %s:%d as its kubelet, want the %s Service %s:%d that every replica serves",
			node.Name, internal, node.Status.DaemonEndpoints.KubeletEndpoint.Port, svc.Name, svc.Spec.ClusterIP, svc.Spec.Ports[0].Port)
	}
	replicas := h.replicaClients(ctx, t, c)
	h.logsThrough(ctx, t, replicas, pod, "")

	holder := leaseHolder(ctx, h.hc, h.ns, h.name)
	if err := h.hc.CoreV1().Pods(h.ns).Delete(ctx, holder, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed the syncer's Lease holder %s: logs through the other replicas", holder)
	h.logsThrough(ctx, t, replicas, pod, holder)
	pctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	poll(pctx, t, fmt.Sprintf("%d of %d replicas ready again", h.replicas, h.replicas), func() bool {
		sts, err := h.hc.AppsV1().StatefulSets(h.ns).Get(ctx, h.name, metav1.GetOptions{})
		return err == nil && int(sts.Status.ReadyReplicas) == h.replicas
	})
}

// logsThrough reads pod's logs through every replica's own API server but dead's.
func (h haCluster) logsThrough(ctx context.Context, t *testing.T, replicas map[string]kubernetes.Interface, pod, dead string) {
	t.Helper()
	for replica, vc := range replicas {
		if replica == dead {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		poll(pctx, t, "logs of "+pod+" through replica "+replica, func() bool {
			out, err := vc.CoreV1().Pods("default").GetLogs(pod, &corev1.PodLogOptions{}).DoRaw(pctx)
			if err != nil {
				t.Logf("logs through %s: %v", replica, err)
			}
			return err == nil && strings.Contains(string(out), "listening on")
		})
		cancel()
	}
}
