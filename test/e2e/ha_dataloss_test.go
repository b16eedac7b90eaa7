package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/hostside"
	"vkube.io/vkube/names"
)

// everyMemberRestartedEmpty is issue 13's re-founding check on seed 004's ha.yaml, whose etcd
// keeps its data in emptyDir volumes: every replica killed at once comes back without data. The
// virtual cluster must not come back empty and Ready as the old one: it stays down, says why
// (a Warning event on the StatefulSet, `vkube list`, `vkube create`'s wait), and starts afresh
// only when the operator acknowledges the loss by the cluster's recorded identity.
func (h haCluster) everyMemberRestartedEmpty(ctx context.Context, t *testing.T, c *cli) {
	t.Helper()
	records := h.hc.CoreV1().ConfigMaps(h.ns)
	record, err := records.Get(ctx, names.EtcdRecord(h.name), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the etcd cluster's record on the host: %v", err)
	}
	lostID := record.Data[hostside.EtcdRecordClusterKey]
	if lostID == "" {
		t.Fatalf("the etcd cluster's record names no cluster: %v", record.Data)
	}
	pctx, pcancel := context.WithTimeout(ctx, time.Minute)
	poll(pctx, t, "a ConfigMap written before the loss", func() bool {
		_, err := h.vc.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before-loss"}}, metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err)
	})
	pcancel()

	// A graceful deletion, not a forced one: a forced one frees the name while the old container
	// still runs, and a new replica finding a stale peer in DNS joins the old cluster before it
	// dies (which keeps the data, and is not the loss this checks).
	for i := range h.replicas {
		pod := fmt.Sprintf("%s-%d", h.name, i)
		if err := h.hc.CoreV1().Pods(h.ns).Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(1))}); err != nil {
			t.Fatalf("killing %s: %v", pod, err)
		}
	}
	t.Logf("killed all %d replicas at once: their emptyDir etcd data is gone", h.replicas)
	pctx, pcancel = context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() {
		if t.Failed() {
			h.logReplicas(context.WithoutCancel(ctx), t)
		}
	})
	poll(pctx, t, "the loss recorded on the host", func() bool {
		cm, err := records.Get(ctx, names.EtcdRecord(h.name), metav1.GetOptions{})
		return err == nil && strings.Contains(cm.Data[hostside.EtcdRecordLostKey], lostID)
	})
	pcancel()

	sts, err := h.hc.AppsV1().StatefulSets(h.ns).Get(ctx, h.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sts.Status.ReadyReplicas != 0 {
		t.Errorf("%d replicas report ready on an empty etcd: the virtual cluster came back empty", sts.Status.ReadyReplicas)
	}
	events, err := h.hc.CoreV1().Events(h.ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=StatefulSet,involvedObject.name=" + h.name + ",reason=" + hostside.ReasonEtcdClusterLost})
	if err != nil {
		t.Fatal(err)
	}
	if len(events.Items) == 0 || events.Items[0].Type != corev1.EventTypeWarning || events.Items[0].InvolvedObject.UID != sts.UID {
		t.Errorf("no %s Warning event on StatefulSet %s: %+v", hostside.ReasonEtcdClusterLost, h.name, events.Items)
	}
	list := c.must(ctx, "list", "-n", h.ns)
	if !strings.Contains(list, "DataLost") || !strings.Contains(list, "acknowledgeDataLoss="+lostID) {
		t.Errorf("vkube list does not say the data is lost and how to go on:\n%s", list)
	}
	if _, err := h.vc.CoreV1().ConfigMaps("default").Get(ctx, "before-loss", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		t.Errorf("the virtual API answers that the ConfigMap written before the loss does not exist: it serves an empty cluster as the old one")
	}

	c.must(ctx, "create", h.name, "--upgrade", "--connect=false", "--set", "controlPlane.backingStore.etcd.embedded.acknowledgeDataLoss="+lostID)
	record, err = records.Get(ctx, names.EtcdRecord(h.name), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if id := record.Data[hostside.EtcdRecordClusterKey]; id == "" || id == lostID || record.Data[hostside.EtcdRecordLostKey] != "" {
		t.Errorf("after the acknowledged loss the record is %v: want a new cluster than %s and no loss", record.Data, lostID)
	}
	pctx, pcancel = context.WithTimeout(ctx, time.Minute)
	poll(pctx, t, "the new, empty virtual cluster answering", func() bool {
		_, err := h.vc.CoreV1().ConfigMaps("default").Get(ctx, "before-loss", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	pcancel()
}

// logReplicas puts the tail of every replica's log into a failed test's output: a failure in CI
// is otherwise explained by nothing but a timeout.
func (h haCluster) logReplicas(ctx context.Context, t *testing.T) {
	t.Helper()
	tail := int64(80)
	for i := range h.replicas {
		pod := fmt.Sprintf("%s-%d", h.name, i)
		logs, err := h.hc.CoreV1().Pods(h.ns).GetLogs(pod, &corev1.PodLogOptions{TailLines: &tail}).DoRaw(ctx)
		t.Logf("--- %s (err %v):\n%s", pod, err, logs)
	}
}
