package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"vkube.io/vkube/supervisor"
	"vkube.io/vkube/syncer/translate"
)

// haHandover is the HA part's real-host figure: a 3-replica virtual cluster on embedded etcd
// made by `vkube create`; the pod named by the syncer Lease's holder is force-deleted (grace 0)
// and timed until the Lease names another holder and a virtual pod created right after the kill
// exists on the host.
func haHandover(ctx context.Context, e *env, res *haResult) error {
	h, down, why := syncHost(ctx)
	if why != "" {
		res.HandoverUnavailable = why
		progress("ha: %s", why)
		return nil
	}
	if down != nil {
		defer down()
	}
	if err := ensureImage(ctx, h); err != nil {
		res.HandoverUnavailable = "no vkube image: " + shorten(err.Error(), 160)
		progress("ha: %s", res.HandoverUnavailable)
		return nil
	}
	hc, err := h.Client()
	if err != nil {
		return err
	}
	c, err := newCLI(e, h, filepath.Join(e.work, "ha-host"))
	if err != nil {
		res.HandoverUnavailable = shorten(err.Error(), 160)
		return nil
	}
	const name, ns = "vkbench-ha", "vkube-vkbench-ha"
	c.leftoverCluster(ctx, hc, name)
	deleted := false
	defer func() {
		if !deleted {
			c.deleteCluster(hc, name)
		}
	}()
	began := time.Now()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	_, err = c.run(cctx, "create", name, "--connect=false", "--timeout", "8m",
		"--set", "controlPlane.statefulSet.highAvailability.replicas=3", "--set", "controlPlane.backingStore.etcd.embedded.enabled=true")
	cancel()
	if err != nil {
		return err
	}
	progress("ha: %s: 3 replicas ready on the host after %.1fs", name, time.Since(began).Seconds())
	vc, err := virtualClient(ctx, c, hc, ns, name, 5*time.Second)
	if err != nil {
		return err
	}
	if err := waitServiceAccount(ctx, vc, "default"); err != nil {
		return err
	}
	// The syncer works before anything is timed.
	if err := createUntilAccepted(ctx, vc, "warm-up"); err != nil {
		return err
	}
	if err := pollUntil(ctx, 3*time.Minute, "the warm-up pod on the host", func() bool { return hostPodExists(ctx, hc, ns, name, "warm-up") }); err != nil {
		return err
	}
	kubeconfig := filepath.Join(filepath.Dir(c.log), name+".kubeconfig")
	if res.ServiceHolderMs, res.ServiceOtherMs, err = serviceCreateLatency(ctx, kubeconfig, hc, ns, name, 20); err != nil {
		res.ServiceLatencyFailed = shorten(err.Error(), 160)
		progress("ha: Service create latency FAILED: %v", err)
	} else {
		progress("ha: Service create p50 through the Lease holder %.1f ms, through another replica %.1f ms", res.ServiceHolderMs, res.ServiceOtherMs)
	}
	for i := range res.HandoverKills {
		if err := pollUntil(ctx, 5*time.Minute, "3 of 3 replicas ready and a Lease holder", func() bool {
			sts, err := hc.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
			return err == nil && sts.Status.ReadyReplicas == 3 && leaseHolder(ctx, hc, ns, name) != ""
		}); err != nil {
			return fmt.Errorf("before kill %d: %w", i+1, err)
		}
		victim := leaseHolder(ctx, hc, ns, name)
		old, err := hc.CoreV1().Pods(ns).Get(ctx, victim, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("kill %d: the Lease holder %q is no pod of %s: %w", i+1, victim, ns, err)
		}
		killed := time.Now()
		if err := hc.CoreV1().Pods(ns).Delete(ctx, victim, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
			return fmt.Errorf("kill %d: %w", i+1, err)
		}
		pod := fmt.Sprintf("handover-%d", i)
		if err := createUntilAccepted(ctx, vc, pod); err != nil {
			return fmt.Errorf("kill %d: %w", i+1, err)
		}
		created := time.Since(killed)
		var leaseAt, podAt time.Duration
		var to string
		if err := pollUntil(ctx, 3*time.Minute, "another Lease holder and the pod created after the kill on the host", func() bool {
			if leaseAt == 0 {
				if to = newHolder(ctx, hc, ns, name, old); to != "" {
					leaseAt = time.Since(killed)
				}
			}
			if podAt == 0 && hostPodExists(ctx, hc, ns, name, pod) {
				podAt = time.Since(killed)
			}
			return leaseAt != 0 && podAt != 0
		}); err != nil {
			return fmt.Errorf("kill %d of %s: %w", i+1, victim, err)
		}
		took := max(leaseAt, podAt)
		res.HandoverSeconds = append(res.HandoverSeconds, took.Seconds())
		res.HandoverLeaseSeconds = append(res.HandoverLeaseSeconds, leaseAt.Seconds())
		res.HandoverPodSeconds = append(res.HandoverPodSeconds, podAt.Seconds())
		res.HandoverFromTo = append(res.HandoverFromTo, victim+" → "+to)
		progress("ha: hand-over %d/%d: %s force-deleted; virtual pod created %.1fs later; Lease held by %s after %.1fs, the pod on the host after %.1fs",
			i+1, res.HandoverKills, victim, created.Seconds(), to, leaseAt.Seconds(), podAt.Seconds())
	}
	gap := haGap{Datastore: "embedded etcd"}
	gapClient, err := virtualClient(ctx, c, hc, ns, name, gapWriterTimeout)
	if err == nil {
		gap.Seconds, err = gapWhileHolderKilled(ctx, hc, gapClient, ns, name)
	}
	if err != nil {
		gap.Failed = shorten(err.Error(), 160)
	}
	progress("ha: API gap on embedded etcd while the Lease holder is killed: %.2fs %s", gap.Seconds, gap.Failed)
	res.Gaps = append(res.Gaps, gap)
	c.deleteCluster(hc, name)
	deleted = true
	haExternalGaps(ctx, e, res, h, hc, c)
	return nil
}

// virtualClient reaches the virtual cluster through its Service's ClusterIP (kube-proxy runs on
// this machine), with the kubeconfig `vkube connect --print --server` gives, as the e2e HA test
// does: no port-forward to a pod that is about to be killed.
func virtualClient(ctx context.Context, c *vkubeCLI, hc kubernetes.Interface, ns, name string, timeout time.Duration) (kubernetes.Interface, error) {
	svc, err := hc.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := c.run(cctx, "connect", name, "--print", "--server", "https://"+net.JoinHostPort(svc.Spec.ClusterIP, "443"))
	if err != nil {
		return nil, err
	}
	i := strings.Index(out, "apiVersion")
	if i < 0 {
		return nil, fmt.Errorf("vkube connect --print printed no kubeconfig:\n%s", shorten(out, 200))
	}
	path := filepath.Join(filepath.Dir(c.log), name+".kubeconfig")
	if err := os.WriteFile(path, []byte(out[i:]), 0o600); err != nil {
		return nil, err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	rc.Timeout = timeout
	return kubernetes.NewForConfig(rc)
}

// createUntilAccepted creates a virtual pod on the real kubelet in default, retrying while the
// API is failing over.
func createUntilAccepted(ctx context.Context, vc kubernetes.Interface, pod string) error {
	return pollUntil(ctx, 2*time.Minute, "creating virtual pod "+pod, func() bool {
		_, err := vc.CoreV1().Pods("default").Create(ctx, benchPod(pod, "handover", false), metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err)
	})
}

func hostPodExists(ctx context.Context, hc kubernetes.Interface, ns, vcluster, pod string) bool {
	_, err := hc.CoreV1().Pods(ns).Get(ctx, translate.HostName(pod, "default", vcluster), metav1.GetOptions{})
	return err == nil
}

func leaseHolder(ctx context.Context, hc kubernetes.Interface, ns, vcluster string) string {
	l, err := hc.CoordinationV1().Leases(ns).Get(ctx, supervisor.SyncerLeaseName(vcluster), metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// newHolder is the Lease's holder once it is not the killed pod old. The identity is the pod
// name, which the StatefulSet gives the killed pod's replacement too: the replacement holding
// it (a new pod UID, the Lease renewed after that pod started) counts as a hand-over as well.
func newHolder(ctx context.Context, hc kubernetes.Interface, ns, vcluster string, old *corev1.Pod) string {
	l, err := hc.CoordinationV1().Leases(ns).Get(ctx, supervisor.SyncerLeaseName(vcluster), metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return ""
	}
	holder := *l.Spec.HolderIdentity
	if holder != old.Name {
		return holder
	}
	p, err := hc.CoreV1().Pods(ns).Get(ctx, holder, metav1.GetOptions{})
	if err != nil || p.UID == old.UID || p.Status.StartTime == nil || l.Spec.RenewTime == nil || !slices.ContainsFunc(p.Status.Conditions, ready) {
		return ""
	}
	if l.Spec.RenewTime.After(p.Status.StartTime.Time) {
		return holder + " (replacement " + shortUID(p.UID) + ")"
	}
	return ""
}

func ready(c corev1.PodCondition) bool {
	return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
}

func shortUID(u types.UID) string { return string(u)[:min(8, len(u))] }
