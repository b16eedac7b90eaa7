package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"vkube.io/vkube/syncer/translate"
)

// TestTenantAttacks is issue 12's adversarial suite (docs/security.md): a tenant who is
// cluster-admin in a virtual cluster made by `vkube create` with defaults tries, through its own
// kubeconfig, each way past the host namespace that the threat model closes. Every attack asserts
// both the refusal the tenant sees (the Service webhook's `vkube: ` denial, a `SyncError` or
// `Clamped` event) and that the host is unchanged. One virtual cluster serves every attack (each
// costs about a minute to create on a small machine); the last attacks upgrade it to turn on the host
// admin's optional switches, so the others run against the defaults.
func TestTenantAttacks(t *testing.T) {
	c := newCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	const name = "tenant-attacks"
	ns := "vkube-" + name
	t.Cleanup(func() {
		_, _ = c.run(context.Background(), "delete", name)
		deleteClusterScopedTwins(t, c.hc, name)
	})
	c.must(ctx, "create", name, "--connect=false")
	waitControlPlaneReady(ctx, t, c.hc, ns, name)
	a := &tenant{cli: c, hc: c.hc, name: name, hostNS: ns}
	a.vc = a.client(ctx, t)

	t.Run("ServiceExternalIPs", a.serviceExternalIPs)
	t.Run("ServiceLoadBalancerIP", a.serviceLoadBalancerIP)
	t.Run("EndpointSliceInjection", a.endpointSliceInjection)
	t.Run("ControlPlaneLabelSpoofing", a.controlPlaneLabelSpoofing)
	t.Run("TwinNameCollision", a.twinNameCollision)
	t.Run("PodSecurity", a.podSecurity)
	t.Run("HostRBAC", a.hostRBAC)
	// Last: it restarts the control plane with the host admin's optional switches on.
	t.Run("HostAdminSwitches", a.hostAdminSwitches)
}

// tenant is the attacker's position: the virtual admin client, plus the host admin's client the
// test checks the host with.
type tenant struct {
	cli          *cli
	hc           kubernetes.Interface
	vc           kubernetes.Interface
	name, hostNS string
}

// client is the tenant's kubeconfig (`vkube connect --print`) aimed at the API Service's
// ClusterIP, as a pod in the host namespace or the test machine reaches it.
func (a *tenant) client(ctx context.Context, t *testing.T) kubernetes.Interface {
	t.Helper()
	svc, err := a.hc.CoreV1().Services(a.hostNS).Get(ctx, a.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := a.cli.must(ctx, "connect", a.name, "--print", "--server", "https://"+net.JoinHostPort(svc.Spec.ClusterIP, "443"))
	i := strings.Index(out, "apiVersion")
	if i < 0 {
		t.Fatalf("vkube connect --print printed no kubeconfig:\n%s", out)
	}
	path := filepath.Join(t.TempDir(), a.name+".kubeconfig")
	if err := os.WriteFile(path, []byte(out[i:]), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	rc.Timeout = 30 * time.Second
	vc := kubernetes.NewForConfigOrDie(rc)
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// kube-proxy may not route the just-ready endpoint yet.
	poll(pctx, t, "the tenant's kubeconfig working", func() bool {
		_, err := vc.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	return vc
}

// controlPlaneIPs are the host pod IPs of the virtual cluster's own StatefulSet.
func (a *tenant) controlPlaneIPs(ctx context.Context, t *testing.T) map[string]bool {
	t.Helper()
	pods, err := a.hc.CoreV1().Pods(a.hostNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]bool{}
	for _, p := range pods.Items {
		for _, o := range p.OwnerReferences {
			if o.Kind == "StatefulSet" && o.Name == a.name && p.Status.PodIP != "" {
				ips[p.Status.PodIP] = true
			}
		}
	}
	if len(ips) == 0 {
		t.Fatal("no control-plane pod with an IP on the host")
	}
	return ips
}

// hostPodTwins are the synced host pods that record virtual pod ns/name as theirs.
func (a *tenant) hostPodTwins(ctx context.Context, ns, name string) []corev1.Pod {
	pods, err := a.hc.CoreV1().Pods(a.hostNS).List(ctx, metav1.ListOptions{LabelSelector: translate.LabelManagedBy + "=" + a.name})
	if err != nil {
		return nil
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if recordsVirtual(p.ObjectMeta, ns, name) {
			out = append(out, p)
		}
	}
	return out
}

// recordsVirtual says whether a host object's recorded virtual identity is ns/name.
func recordsVirtual(m metav1.ObjectMeta, ns, name string) bool {
	return m.Annotations[translate.AnnotationNamespace] == ns && m.Annotations[translate.AnnotationName] == name
}

// createPod creates a virtual pod, failing the test if the virtual API refuses it (the attacks
// are about what reaches the host, and a tenant's cluster-admin may create anything).
func (a *tenant) createPod(ctx context.Context, t *testing.T, ns string, p *corev1.Pod) {
	t.Helper()
	if _, err := a.vc.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("virtual pod %s/%s: %v", ns, p.Name, err)
	}
}

// runningVirtualPod waits for virtual pod ns/name to run (on the host) and returns it.
func (a *tenant) runningVirtualPod(ctx context.Context, t *testing.T, ns, name string) *corev1.Pod {
	t.Helper()
	var p *corev1.Pod
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	poll(pctx, t, "virtual pod "+ns+"/"+name+" Running", func() bool {
		got, err := a.vc.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || got.Status.Phase != corev1.PodRunning || got.Status.PodIP == "" {
			return false
		}
		p = got
		return true
	})
	return p
}

// within waits up to d for cond and says whether it came true, without failing: for the
// attacks, where the unfixed code shows one outcome and the fixed code the other.
func within(ctx context.Context, d time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(context.Context) (bool, error) { return cond(), nil }) == nil
}

// eventsOf lists the reasons and messages of the events of a virtual object, for failure output.
func eventsOf(ctx context.Context, vc kubernetes.Interface, ns, object string) string {
	evs, err := vc.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + object})
	if err != nil {
		return err.Error()
	}
	var s []string
	for _, e := range evs.Items {
		s = append(s, e.Type+" "+e.Reason+": "+e.Message)
	}
	if len(s) == 0 {
		return "(no events)"
	}
	return strings.Join(s, "\n")
}
