package e2e

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/hostside"
	"vkube.io/vkube/names"
	"vkube.io/vkube/test/framework"
)

// rapidKills is issue 13's cadence on persistent volumes: every replica killed in turn, one every
// `every`, faster than a replacement becomes ready, so that the etcd quorum goes for a while.
// Writes through the API Service stall, then resume; nothing acknowledged is lost, and the
// cluster never counts as lost (members come back with their data).
func (h haCluster) rapidKills(ctx context.Context, t *testing.T, every time.Duration) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	poll(pctx, t, "the virtual API through its Service", func() bool {
		_, err := h.vc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "rapid"}}, metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err)
	})
	cancel()
	w := framework.StartWriter(h.vc, "rapid", 50*time.Millisecond)
	pctx, cancel = context.WithTimeout(ctx, time.Minute)
	poll(pctx, t, "writes acknowledged before the kills", func() bool { return w.Acked() >= 20 })
	cancel()
	for i := range h.replicas {
		pod := fmt.Sprintf("%s-%d", h.name, i)
		if err := h.hc.CoreV1().Pods(h.ns).Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); err != nil {
			t.Fatalf("killing %s: %v", pod, err)
		}
		t.Logf("killed %s (%d writes acknowledged so far)", pod, w.Acked())
		time.Sleep(every)
	}
	pctx, cancel = context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	poll(pctx, t, fmt.Sprintf("%d of %d replicas ready again", h.replicas, h.replicas), func() bool {
		sts, err := h.hc.AppsV1().StatefulSets(h.ns).Get(ctx, h.name, metav1.GetOptions{})
		return err == nil && int(sts.Status.ReadyReplicas) == h.replicas
	})
	resumed := w.Acked() + 20
	poll(pctx, t, "writes resumed", func() bool { return w.Acked() >= resumed })
	w.Stop()
	lost, err := w.Lost(ctx, h.vc)
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) > 0 {
		t.Fatalf("%d acknowledged writes lost after the rapid kills: %v", len(lost), lost[:min(10, len(lost))])
	}
	if rec, err := h.hc.CoreV1().ConfigMaps(h.ns).Get(ctx, names.EtcdRecord(h.name), metav1.GetOptions{}); err != nil || rec.Data[hostside.EtcdRecordLostKey] != "" {
		t.Errorf("the etcd record after the rapid kills: %v %v", rec.Data, err)
	}
	outages := w.Outages()
	sort.Slice(outages, func(i, j int) bool { return outages[i] > outages[j] })
	t.Logf("rapid kills every %v: %d writes acknowledged, none lost; longest stall %v", every, w.Acked(), append(outages, 0)[0])
}
