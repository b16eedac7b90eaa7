package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/syncer/translate"
	"vkube.io/vkube/test/images"
)

func helloPod(name string, mutate func(*corev1.PodSpec)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "hello", Image: images.Hello.Ref, ImagePullPolicy: corev1.PullIfNotPresent}}}}
	if mutate != nil {
		mutate(&p.Spec)
	}
	return p
}

// TestIsolation is seed 004 §9 and seed 000's isolation values, on a virtual cluster that ran
// without isolation first: restarted with --isolate, the host namespace gets the seeds'
// ResourceQuota, LimitRange and two NetworkPolicies (vkube's labels), the virtual cluster refuses
// privileged and hostPath pods with PodSecurity admission's message, a privileged pod from before
// (synced while the host admin opted out of the host's level) is taken off the host by the syncer, a plain pod still runs (with the LimitRange's defaults), and
// what a user made by hand in the host namespace is untouched, also when isolation is turned off.
func TestIsolation(t *testing.T) {
	h, hc := requireHostClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	const name, hostNS = "iso", "vc-iso"
	// The hand-made objects must be there before vkube first starts: a namespace left by an
	// earlier run goes first.
	_ = hc.CoreV1().Namespaces().Delete(ctx, hostNS, metav1.DeleteOptions{})
	poll(ctx, t, "host namespace "+hostNS+" created afresh", func() bool {
		_, err := hc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: hostNS}}, metav1.CreateOptions{})
		return err == nil
	})
	userPolicy, err := hc.NetworkingV1().NetworkPolicies(hostNS).Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "user-allow-web"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{}}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	userQuota, err := hc.CoreV1().ResourceQuotas(hostNS).Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "user-quota"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"count/configmaps": resource.MustParse("500")}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	userCM, err := hc.CoreV1().ConfigMaps(hostNS).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "user-notes"}, Data: map[string]string{"a": "b"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Without isolation, and with the host admin's opt-out of the host's Pod Security level
	// (policies.hostAccess.podSecurityStandard, baseline by default): nothing of it on the host,
	// and a privileged pod runs there.
	optOut := filepath.Join(t.TempDir(), "privileged.yaml")
	if err := os.WriteFile(optOut, []byte("policies:\n  hostAccess:\n    podSecurityStandard: privileged\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, _, _ := startOnHostWith(t, name, "-f", optOut)
	vc := v.Client()
	if _, err := hc.CoreV1().ResourceQuotas(hostNS).Get(ctx, name+"-quota", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("%s-quota exists without --isolate: %v", name, err)
	}
	if _, err := hc.CoreV1().LimitRanges(hostNS).Get(ctx, name+"-limit-range", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("%s-limit-range exists without --isolate: %v", name, err)
	}
	privileged := func(s *corev1.PodSpec) {
		s.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
	}
	legacy := helloPod("legacy", privileged)
	legacy.Spec.TerminationGracePeriodSeconds = ptr.To(int64(1))
	if _, err := vc.CoreV1().Pods("default").Create(ctx, legacy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	legacyTwin := translate.HostName("legacy", "default", name)
	poll(ctx, t, "the privileged pod running on the host without isolation", func() bool {
		p, err := hc.CoreV1().Pods(hostNS).Get(ctx, legacyTwin, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	})

	// Isolated.
	v.Stop()
	v.Args = append(v.Args, "--isolate")
	v.Start()
	v.WaitReady(3 * time.Minute)
	vc = v.Client()
	checkIsolationObjects(ctx, t, hc, hostNS, name, h.Config().NodeIP, v.Port)

	for _, ns := range []string{"default", "kube-system"} {
		got, err := vc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil || got.Labels["pod-security.kubernetes.io/enforce"] != "baseline" || got.Labels["pod-security.kubernetes.io/enforce-version"] != "latest" {
			t.Errorf("virtual namespace %s not labelled for baseline once ready: %v %v", ns, got.Labels, err)
		}
	}
	_, err = vc.CoreV1().Pods("default").Create(ctx, helloPod("priv", privileged), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `violates PodSecurity "baseline:latest": privileged (container "hello" must not set securityContext.privileged=true)`) {
		t.Errorf("a privileged pod: %v", err)
	}
	_, err = vc.CoreV1().Pods("default").Create(ctx, helloPod("hostpath", func(s *corev1.PodSpec) {
		s.Volumes = []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	}), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `violates PodSecurity "baseline:latest": hostPath volumes (volume "root")`) {
		t.Errorf("a hostPath pod: %v", err)
	}

	// A namespace a tenant creates is labelled too, and a tenant's relabelling is undone.
	if _, err := vc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labelled := func(ns string) func() bool {
		return func() bool {
			got, err := vc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			return err == nil && got.Labels["pod-security.kubernetes.io/enforce"] == "baseline"
		}
	}
	poll(ctx, t, "the new virtual namespace labelled baseline", labelled("team"))
	def, _ := vc.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	def.Labels["pod-security.kubernetes.io/enforce"] = "privileged"
	if _, err := vc.CoreV1().Namespaces().Update(ctx, def, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the tenant's privileged label on default undone", labelled("default"))

	// The privileged pod from before isolation: the syncer takes its twin off the host and says
	// why, naming the field and the key whose level it fails (the virtual namespaces' baseline).
	poll(ctx, t, "a SyncError event on the old privileged pod, and its host twin gone", func() bool {
		if _, err := hc.CoreV1().Pods(hostNS).Get(ctx, legacyTwin, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return false
		}
		return hasEvent(ctx, vc, "default", "legacy", "SyncError",
			`not synced to the host: spec.containers[0].securityContext.privileged: violates PodSecurity "baseline:latest": privileged`) &&
			hasEvent(ctx, vc, "default", "legacy", "SyncError", "(policies.podSecurityStandard)")
	})

	// A plain pod runs, with the LimitRange's defaults, counted by the quota.
	if _, err := vc.CoreV1().Pods("team").Create(ctx, helloPod("plain", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	plainTwin := translate.HostName("plain", "team", name)
	poll(ctx, t, "the plain pod Running on the host", func() bool {
		p, err := hc.CoreV1().Pods(hostNS).Get(ctx, plainTwin, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	})
	twin, err := hc.CoreV1().Pods(hostNS).Get(ctx, plainTwin, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The LimitRange makes the host twin Burstable while the virtual pod is BestEffort; status
	// comes back only if the syncer leaves the virtual pod's immutable qosClass alone.
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	err = wait.PollUntilContextCancel(sctx, 250*time.Millisecond, true, func(context.Context) (bool, error) {
		p, err := vc.CoreV1().Pods("team").Get(ctx, "plain", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, nil
	})
	scancel()
	if err != nil {
		t.Errorf("the plain pod runs on the host but is not Running in the virtual cluster: the syncer copies the host's status.qosClass " +
			"(Burstable once the LimitRange set resources), which the virtual apiserver refuses as immutable (syncer/pods.go fromHost)")
	}
	lim, req := twin.Spec.Containers[0].Resources.Limits, twin.Spec.Containers[0].Resources.Requests
	if lim.Cpu().String() != "1" || lim.Memory().String() != "512Mi" || req.Cpu().String() != "100m" || req.Memory().String() != "128Mi" {
		t.Errorf("host pod resources %v / %v: not the LimitRange's defaults", lim, req)
	}
	poll(ctx, t, "the quota counting the pod", func() bool {
		q, err := hc.CoreV1().ResourceQuotas(hostNS).Get(ctx, name+"-quota", metav1.GetOptions{})
		used := q.Status.Used[corev1.ResourceName("count/pods")]
		return err == nil && used.Value() >= 1
	})
	checkUntouched(ctx, t, hc, userPolicy, userQuota, userCM)

	// Isolation off again: vkube's objects go, the user's stay.
	v.Stop()
	v.Args = v.Args[:len(v.Args)-1]
	v.Start()
	v.WaitReady(3 * time.Minute)
	if _, err := hc.CoreV1().ResourceQuotas(hostNS).Get(ctx, name+"-quota", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("%s-quota after isolation was turned off: %v", name, err)
	}
	if _, err := hc.CoreV1().LimitRanges(hostNS).Get(ctx, name+"-limit-range", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("%s-limit-range after isolation was turned off: %v", name, err)
	}
	nps, err := hc.NetworkingV1().NetworkPolicies(hostNS).List(ctx, metav1.ListOptions{})
	if err != nil || len(nps.Items) != 1 || nps.Items[0].Name != "user-allow-web" {
		t.Errorf("NetworkPolicies after isolation was turned off: %v %v", nps, err)
	}
	checkUntouched(ctx, t, hc, userPolicy, userQuota, userCM)
}

// checkIsolationObjects compares the live host objects with the seeds' rules.
func checkIsolationObjects(ctx context.Context, t *testing.T, hc kubernetes.Interface, ns, name, nodeIP string, apiPort int) {
	t.Helper()
	owned := func(kind string, m metav1.ObjectMeta) {
		if m.Labels["vkube.io/cluster"] != name {
			t.Errorf("%s %s lacks label vkube.io/cluster=%s: %v", kind, m.Name, name, m.Labels)
		}
	}
	q, err := hc.CoreV1().ResourceQuotas(ns).Get(ctx, name+"-quota", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned("ResourceQuota", q.ObjectMeta)
	want := map[string]string{"count/configmaps": "100", "count/endpoints": "40", "count/persistentvolumeclaims": "20", "count/pods": "20",
		"count/secrets": "100", "count/services": "20", "limits.cpu": "20", "limits.ephemeral-storage": "160Gi", "limits.memory": "40Gi",
		"requests.cpu": "10", "requests.ephemeral-storage": "60Gi", "requests.memory": "20Gi", "requests.storage": "100Gi",
		"services.loadbalancers": "1", "services.nodeports": "0"}
	if len(q.Spec.Hard) != len(want) {
		t.Errorf("quota has %d entries, the seed's %d: %v", len(q.Spec.Hard), len(want), q.Spec.Hard)
	}
	for k, v := range want {
		if got := q.Spec.Hard[corev1.ResourceName(k)]; got.Cmp(resource.MustParse(v)) != 0 {
			t.Errorf("quota %s = %s, the seed's %s", k, got.String(), v)
		}
	}

	lr, err := hc.CoreV1().LimitRanges(ns).Get(ctx, name+"-limit-range", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned("LimitRange", lr.ObjectMeta)
	if len(lr.Spec.Limits) != 1 || lr.Spec.Limits[0].Type != corev1.LimitTypeContainer ||
		fmt.Sprint(lr.Spec.Limits[0].Default) != fmt.Sprint(corev1.ResourceList{"cpu": resource.MustParse("1"), "ephemeral-storage": resource.MustParse("8Gi"), "memory": resource.MustParse("512Mi")}) ||
		fmt.Sprint(lr.Spec.Limits[0].DefaultRequest) != fmt.Sprint(corev1.ResourceList{"cpu": resource.MustParse("100m"), "ephemeral-storage": resource.MustParse("3Gi"), "memory": resource.MustParse("128Mi")}) {
		t.Errorf("limit range: %+v", lr.Spec.Limits)
	}

	portsOf := func(r networkingv1.NetworkPolicyEgressRule) string {
		var s []string
		for _, p := range r.Ports {
			s = append(s, fmt.Sprintf("%s/%s", p.Port.String(), *p.Protocol))
		}
		return strings.Join(s, " ")
	}
	cpSelector := metav1.LabelSelector{MatchLabels: map[string]string{"vkube.io/control-plane": name},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "vkube.io/managed-by", Operator: metav1.LabelSelectorOpDoesNotExist}}}
	wl, err := hc.NetworkingV1().NetworkPolicies(ns).Get(ctx, name+"-workloads", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned("NetworkPolicy", wl.ObjectMeta)
	e := wl.Spec.Egress
	switch {
	case !equality.Semantic.DeepEqual(wl.Spec.PodSelector, metav1.LabelSelector{MatchLabels: map[string]string{"vkube.io/managed-by": name}}):
		t.Errorf("workloads policy selects %v", wl.Spec.PodSelector)
	case fmt.Sprint(wl.Spec.PolicyTypes) != "[Egress]" || len(e) != 5:
		t.Errorf("workloads policy: types %v, %d egress rules (the seed's 3, then vkube's API and DNS at the node IP)", wl.Spec.PolicyTypes, len(e))
	case portsOf(e[0]) != "443/TCP 8443/TCP" || len(e[0].To) != 1 || !equality.Semantic.DeepEqual(*e[0].To[0].PodSelector, cpSelector):
		t.Errorf("workloads → control plane: %+v", e[0])
	case portsOf(e[1]) != "53/UDP 53/TCP" || len(e[1].To) != 0:
		t.Errorf("workloads → DNS: %+v", e[1])
	case len(e[2].Ports) != 0 || len(e[2].To) != 2 || e[2].To[1].IPBlock == nil || e[2].To[1].IPBlock.CIDR != "0.0.0.0/0" ||
		strings.Join(e[2].To[1].IPBlock.Except, " ") != "100.64.0.0/10 127.0.0.0/8 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16" ||
		e[2].To[0].PodSelector.MatchLabels["vkube.io/managed-by"] != name:
		t.Errorf("workloads → each other and the internet: %+v", e[2])
	case len(e[3].To) != 1 || e[3].To[0].IPBlock == nil || e[3].To[0].IPBlock.CIDR != nodeIP+"/32" || portsOf(e[3]) != fmt.Sprintf("%d/TCP", apiPort):
		t.Errorf("workloads → the virtual API at %s:%d: %+v", nodeIP, apiPort, e[3])
	case len(e[4].To) != 1 || e[4].To[0].IPBlock == nil || e[4].To[0].IPBlock.CIDR != nodeIP+"/32" || len(e[4].Ports) != 2 ||
		*e[4].Ports[0].Protocol != corev1.ProtocolUDP || *e[4].Ports[1].Protocol != corev1.ProtocolTCP || e[4].Ports[0].Port.IntValue() != e[4].Ports[1].Port.IntValue():
		t.Errorf("workloads → vkube's DNS at %s: %+v", nodeIP, e[4])
	}

	cp, err := hc.NetworkingV1().NetworkPolicies(ns).Get(ctx, name+"-control-plane", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned("NetworkPolicy", cp.ObjectMeta)
	e = cp.Spec.Egress
	switch {
	case !equality.Semantic.DeepEqual(cp.Spec.PodSelector, cpSelector):
		t.Errorf("control-plane policy selects %v", cp.Spec.PodSelector)
	case fmt.Sprint(cp.Spec.PolicyTypes) != "[Egress]" || len(e) != 2:
		t.Errorf("control-plane policy: types %v, egress %+v", cp.Spec.PolicyTypes, e)
	case portsOf(e[0]) != "443/TCP 8443/TCP 6443/TCP" || len(e[0].To) != 0:
		t.Errorf("control plane → host API: %+v", e[0])
	case len(e[1].To) != 2 || e[1].To[1].PodSelector.MatchLabels["k8s-app"] != "kube-dns" ||
		e[1].To[1].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "kube-system":
		t.Errorf("control plane → pods and host DNS: %+v", e[1])
	}
}

func checkUntouched(ctx context.Context, t *testing.T, hc kubernetes.Interface, np *networkingv1.NetworkPolicy, q *corev1.ResourceQuota, cm *corev1.ConfigMap) {
	t.Helper()
	gotNP, err := hc.NetworkingV1().NetworkPolicies(np.Namespace).Get(ctx, np.Name, metav1.GetOptions{})
	if err != nil || gotNP.ResourceVersion != np.ResourceVersion {
		t.Errorf("the user's NetworkPolicy changed: %v %v", gotNP, err)
	}
	// The quota's status moves with use; its spec and labels are the user's.
	gotQ, err := hc.CoreV1().ResourceQuotas(q.Namespace).Get(ctx, q.Name, metav1.GetOptions{})
	if err != nil || !equality.Semantic.DeepEqual(gotQ.Spec, q.Spec) || len(gotQ.Labels) != 0 {
		t.Errorf("the user's ResourceQuota changed: %v %v", gotQ, err)
	}
	gotCM, err := hc.CoreV1().ConfigMaps(cm.Namespace).Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil || gotCM.ResourceVersion != cm.ResourceVersion {
		t.Errorf("the user's ConfigMap changed: %v %v", gotCM, err)
	}
}

func hasEvent(ctx context.Context, vc kubernetes.Interface, ns, object, reason, message string) bool {
	evs, err := vc.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + object})
	if err != nil {
		return false
	}
	for _, e := range evs.Items {
		if e.Reason == reason && e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, message) {
			return true
		}
	}
	return false
}
