package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNetworkIsolation is seed 004 §9.1 on a host that enforces NetworkPolicies (kube-router's
// network policy controller, started for this test): with --isolate, a virtual pod can no
// longer reach a host pod by IP, while the host pod still reaches the virtual one. The virtual
// pod keeps what it needs: its own cluster's Service by name (DNS through vkube) and the
// virtual API with its token. Before the agent runs, the same request goes through: the
// policies are what cut it.
func TestNetworkIsolation(t *testing.T) {
	h, hc := requireHostClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	const hostApps = "netiso-host"
	hostNamespace(t, hc, hostApps)
	deployHello(ctx, t, hc, hostApps, "nettool-host")

	v, _, _ := startOnHostWith(t, "netiso", "--isolate")
	vc := v.Client()
	deployHello(ctx, t, vc, "default", "nettool-virtual")

	podOf := func(pods *corev1.PodList, err error) corev1.Pod {
		t.Helper()
		if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.PodIP == "" {
			t.Fatalf("one pod with an IP: %v %v", pods, err)
		}
		return pods.Items[0]
	}
	hostPod := podOf(hc.CoreV1().Pods(hostApps).List(ctx, metav1.ListOptions{LabelSelector: "app=nettool-host"}))
	var virtualPod corev1.Pod
	poll(ctx, t, "the virtual pod Running with its IP", func() bool {
		pods, err := vc.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=nettool-virtual"})
		if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.PodIP == "" || pods.Items[0].Status.Phase != corev1.PodRunning {
			return false
		}
		virtualPod = pods.Items[0]
		return true
	})
	toHost := "http://" + hostPod.Status.PodIP + ":8080/"
	toVirtual := "http://" + virtualPod.Status.PodIP + ":8080/"
	fromVirtual := func(url string) (string, error) {
		return execIn(ctx, v, "default", virtualPod.Name, "/hello", "get", url)
	}
	if out, err := fromVirtual(toHost); err != nil {
		t.Fatalf("without an agent enforcing them, the policies cut nothing, yet the virtual pod cannot reach the host pod: %q %v", out, err)
	}
	toService := "http://nettool-virtual.default/"
	poll(ctx, t, "the virtual pod reaching its Service by name (the host's endpoints programmed)", func() bool {
		_, err := fromVirtual(toService)
		return err == nil
	})

	if err := h.UpNetworkPolicyAgent(ctx); err != nil {
		failOrSkip(t, err)
	}
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer dcancel()
		if err := h.DownNetworkPolicyAgent(dctx); err != nil {
			t.Errorf("removing the network policy agent: %v", err)
		}
	})

	poll(ctx, t, "the virtual pod cut off from the host pod's IP", func() bool {
		_, err := fromVirtual(toHost)
		return err != nil
	})
	if out, err := hostExec(ctx, t, hostApps, hostPod.Name, "/hello", "get", toVirtual); err != nil {
		t.Errorf("host pod → virtual pod by IP, which seed 004 keeps open: %q %v", out, err)
	}
	if out, err := fromVirtual(toService); err != nil {
		t.Errorf("virtual pod → its own cluster's Service by name under the policies: %q %v", out, err)
	}
	if out, err := execIn(ctx, v, "default", virtualPod.Name, "/hello", "whoami"); err != nil || !strings.Contains(out, "system:serviceaccount:default:default") {
		t.Errorf("virtual pod → virtual API with its token under the policies: %q %v", out, err)
	}
	// Once more after the others: the refusal holds.
	if out, err := fromVirtual(toHost); err == nil {
		t.Errorf("virtual pod → host pod by IP went through: %q", out)
	}
}
