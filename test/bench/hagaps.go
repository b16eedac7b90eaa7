package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"vkube.io/vkube/test/dbserver"
	"vkube.io/vkube/test/framework"
	"vkube.io/vkube/test/hostcluster"
)

// haGap is one datastore's longest API gap for a writer through the API Service while the
// syncer Lease holder, one of 3 replicas on the real host, is force-deleted.
type haGap struct {
	Datastore string
	Seconds   float64 `json:",omitempty"`
	// Failed says why it was not measured.
	Failed string `json:",omitempty"`
}

// gapWriterTimeout is the gap writer's request timeout. A request in flight on a connection to
// the killed replica gets no answer and no reset (its pod's network is gone), so every gap is at
// least this long when the writer's connection was on the victim: the figure is vkube's failover
// plus this.
const gapWriterTimeout = 2 * time.Second

// longestGap is the longest span the writer saw without an acknowledged write.
func longestGap(w *framework.Writer) float64 {
	o := w.Outages()
	if len(o) == 0 {
		return 0
	}
	return slices.Max(o).Seconds()
}

// serviceCreateLatency creates n Services through the Lease holder's own API server and n through
// another replica's (each pod's IP: the request cannot land elsewhere) and returns the p50 of
// each in ms: a non-holder's webhook creates the twin as the holder's does, with no hop to it.
func serviceCreateLatency(ctx context.Context, kubeconfig string, hc kubernetes.Interface, ns, name string, n int) (holder, other float64, err error) {
	lead := leaseHolder(ctx, hc, ns, name)
	pods, err := hc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "vkube.io/control-plane=" + name})
	if err != nil {
		return 0, 0, err
	}
	var leadIP, otherIP string
	for _, p := range pods.Items {
		switch {
		case p.Name == lead:
			leadIP = p.Status.PodIP
		case otherIP == "" && slices.ContainsFunc(p.Status.Conditions, ready):
			otherIP = p.Status.PodIP
		}
	}
	if leadIP == "" || otherIP == "" {
		return 0, 0, fmt.Errorf("no ready replica besides the Lease holder %q", lead)
	}
	p50 := func(ip, tag string) (float64, error) {
		rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return 0, err
		}
		rc.Host = "https://" + net.JoinHostPort(ip, "8443")
		rc.TLSClientConfig.ServerName = name + "." + ns + ".svc"
		rc.Timeout = 10 * time.Second
		vc, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return 0, err
		}
		var ms []float64
		for i := range n + 1 {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("lat-%s-%d", tag, i)},
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "lat"}, Ports: []corev1.ServicePort{{Port: 80}}}}
			began := time.Now()
			if _, err := vc.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
				return 0, fmt.Errorf("Service create through %s: %w", ip, err)
			}
			if i > 0 { // the first warms the connection
				ms = append(ms, float64(time.Since(began).Microseconds())/1000)
			}
		}
		sort.Float64s(ms)
		return ms[len(ms)/2], nil
	}
	if holder, err = p50(leadIP, "holder"); err != nil {
		return 0, 0, err
	}
	other, err = p50(otherIP, "other")
	return holder, other, err
}

// haExternalGaps measures the API gap on PostgreSQL (3 replicas sharing one database) and on an
// external etcd, each server on the host's node IP, one Lease-holder kill each.
func haExternalGaps(ctx context.Context, e *env, res *haResult, h *hostcluster.Cluster, hc kubernetes.Interface, c *vkubeCLI) {
	for _, ds := range []struct {
		name, short string
		launch      func() (*dbserver.Server, error)
		store       func(dsn string) map[string]any
	}{
		{"PostgreSQL", "pg", func() (*dbserver.Server, error) { return dbserver.LaunchPostgresOn(e.dbs, h.Config().NodeIP) },
			func(dsn string) map[string]any {
				return map[string]any{"database": map[string]any{"external": map[string]any{"enabled": true, "dataSource": dsn}}}
			}},
		{"external etcd", "etcd", func() (*dbserver.Server, error) { return dbserver.LaunchEtcdOn(e.dbs, h.Config().NodeIP) },
			func(dsn string) map[string]any {
				return map[string]any{"etcd": map[string]any{"external": map[string]any{"enabled": true, "endpoint": dsn}}}
			}},
	} {
		gap := haGap{Datastore: ds.name}
		if err := ctx.Err(); err != nil {
			return
		}
		srv, err := ds.launch()
		if err == nil {
			gap.Seconds, err = haGapOn(ctx, e, hc, c, "vkbench-ha-"+ds.short, ds.store(srv.DSN()))
		}
		if err != nil {
			gap.Failed = shorten(err.Error(), 160)
			progress("ha: API gap on %s FAILED: %v", ds.name, err)
		} else {
			progress("ha: API gap on %s while the Lease holder is killed: %.2fs", ds.name, gap.Seconds)
		}
		res.Gaps = append(res.Gaps, gap)
	}
}

// haGapOn creates a 3-replica virtual cluster on backingStore, kills its Lease holder once under a
// writer through the API Service, and returns the writer's longest gap.
func haGapOn(ctx context.Context, e *env, hc kubernetes.Interface, c *vkubeCLI, name string, backingStore map[string]any) (float64, error) {
	ns := "vkube-" + name
	c.leftoverCluster(ctx, hc, name)
	defer c.deleteCluster(hc, name)
	values, err := yaml.Marshal(map[string]any{"controlPlane": map[string]any{
		"statefulSet":  map[string]any{"highAvailability": map[string]any{"replicas": 3}},
		"backingStore": backingStore,
	}})
	if err != nil {
		return 0, err
	}
	file := filepath.Join(e.work, name+"-values.yaml")
	if err := os.WriteFile(file, values, 0o600); err != nil {
		return 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	_, err = c.run(cctx, "create", name, "--connect=false", "--timeout", "8m", "-f", file)
	cancel()
	if err != nil {
		return 0, err
	}
	vc, err := virtualClient(ctx, c, hc, ns, name, gapWriterTimeout)
	if err != nil {
		return 0, err
	}
	if err := waitServiceAccount(ctx, vc, "default"); err != nil {
		return 0, err
	}
	return gapWhileHolderKilled(ctx, hc, vc, ns, name)
}

// gapWhileHolderKilled kills the Lease holder under a writer through vc and returns the writer's
// longest gap, once every replica is ready again.
func gapWhileHolderKilled(ctx context.Context, hc, vc kubernetes.Interface, ns, name string) (float64, error) {
	// A replica an earlier kill replaced may still be catching up: killing another one then
	// takes the quorum, which is not this figure.
	if err := pollUntil(ctx, 5*time.Minute, "3 of 3 replicas ready and a Lease holder", func() bool {
		sts, err := hc.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && sts.Status.ReadyReplicas == 3 && leaseHolder(ctx, hc, ns, name) != ""
	}); err != nil {
		return 0, err
	}
	w := framework.StartWriter(vc, "default", 50*time.Millisecond)
	defer w.Stop()
	if err := pollUntil(ctx, time.Minute, "writes before the kill", func() bool { return w.Acked() >= 20 }); err != nil {
		return 0, err
	}
	if err := hc.CoreV1().Pods(ns).Delete(ctx, leaseHolder(ctx, hc, ns, name), metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		return 0, err
	}
	if err := pollUntil(ctx, 5*time.Minute, "3 of 3 replicas ready again", func() bool {
		sts, err := hc.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && sts.Status.ReadyReplicas == 3
	}); err != nil {
		return 0, err
	}
	before := w.Acked()
	if err := pollUntil(ctx, time.Minute, "writes after the kill", func() bool { return w.Acked() >= before+20 }); err != nil {
		return 0, err
	}
	w.Stop()
	return longestGap(w), nil
}
