package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/binaries"
	"vkube.io/vkube/test/framework"
)

// helmBinary is the helm CLI built from the module proxy (hack/helm.sh).
func helmBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("HELM")
	if path == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		path = filepath.Join(cache, "vkube", "tools", "helm-v4.3.1", "helm")
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no helm binary at %s: run make helm", path)
		}
		t.Skipf("no helm binary at %s: run make helm", path)
	}
	return path
}

func chartDir() string { return filepath.Join(framework.RepoRoot(), "charts", "vkube") }

func seedValues(name string) string {
	return filepath.Join(framework.RepoRoot(), "config", "legacy", "testdata", "seeds", name)
}

// runTool runs a binary other than vkube (helm, kubectl) in the CLI's environment.
func (c *cli) runTool(ctx context.Context, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = c.env()
	out, err := cmd.CombinedOutput()
	c.t.Logf("%s %s (%v)\n%s", filepath.Base(bin), strings.Join(args, " "), err, framework.Tail(string(out), 30))
	return string(out), err
}

// restrictedNamespace creates ns enforcing the restricted Pod Security Standard, as the seeds'
// hardened hosts do: the chart's pod must pass it.
func restrictedNamespace(ctx context.Context, t *testing.T, hc kubernetes.Interface, ns string) {
	t.Helper()
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	poll(pctx, t, "namespace "+ns, func() bool {
		_, err := hc.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{})
		return err == nil || (apierrors.IsAlreadyExists(err) && !namespaceGone(ctx, hc, ns))
	})
}

// ownNamespace gives a test virtual cluster a restricted namespace of its own, deleted with it.
func (c *cli) ownNamespace(ctx context.Context, name, ns string) {
	c.t.Helper()
	restrictedNamespace(ctx, c.t, c.hc, ns)
	c.t.Cleanup(func() { _, _ = c.run(context.Background(), "delete", name, "-n", ns, "--delete-namespace") })
}

func waitControlPlaneReady(ctx context.Context, t *testing.T, hc kubernetes.Interface, ns, name string) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	poll(pctx, t, "virtual cluster "+name+" ready", func() bool {
		sts, err := hc.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || sts.Status.ReadyReplicas < 1 || sts.Status.UpdateRevision != sts.Status.CurrentRevision {
			return false
		}
		_, err = hc.CoreV1().Secrets(ns).Get(ctx, "vc-"+name, metav1.GetOptions{})
		return err == nil
	})
}

// TestSeed002HelmInstallAndServiceAccount: `helm upgrade --install` with seed 002's values (k8s
// equivalent) into a restricted namespace, then `connect --server … --service-account admin
// --cluster-role cluster-admin --insecure` through a NodePort and `kubectl get pods -A`.
func TestSeed002HelmInstallAndServiceAccount(t *testing.T) {
	c := newCLI(t)
	helm := helmBinary(t)
	hc := c.hc
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const name, ns = "tenant-1", "tenant-1"
	c.ownNamespace(ctx, name, ns)
	values := filepath.Join(framework.SourceDir("vkube.io/vkube/test/e2e"), "testdata", "seed002-k8s.yaml")
	if out, err := c.runTool(ctx, helm, "upgrade", "--install", name, chartDir(), "--values", values, "--namespace", ns); err != nil {
		t.Fatalf("helm upgrade --install: %v\n%s", err, out)
	}
	waitControlPlaneReady(ctx, t, hc, ns, name)
	svc, err := hc.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil || svc.Spec.Type != corev1.ServiceTypeNodePort {
		t.Fatalf("API Service: %v type %v", err, svc.Spec.Type)
	}
	pvc, err := hc.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-"+name+"-0", metav1.GetOptions{})
	if err != nil || pvc.Spec.Resources.Requests.Storage().String() != "1Gi" {
		t.Errorf("data PVC of the seed's storage settings: %v", err)
	}
	nodePort := net.JoinHostPort(host.Config().NodeIP, strconv.Itoa(int(svc.Spec.Ports[0].NodePort)))
	server := "https://" + nodePort
	pctx, pcancel := context.WithTimeout(ctx, time.Minute)
	poll(pctx, t, "kube-proxy serving the NodePort "+nodePort, func() bool {
		conn, err := net.DialTimeout("tcp", nodePort, time.Second)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	pcancel()
	out := c.must(ctx, "connect", name, "-n", ns, "--server="+server, "--service-account", "admin", "--cluster-role", "cluster-admin", "--insecure",
		"--", "kubectl", "get", "pods", "-A")
	if strings.Contains(out, "Forbidden") || strings.Contains(out, "Unauthorized") {
		t.Fatalf("kubectl get pods -A as the admin service account:\n%s", out)
	}
	out = c.must(ctx, "connect", name, "-n", ns, "--server="+server, "--service-account", "admin", "--cluster-role", "cluster-admin", "--insecure",
		"--", "kubectl", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if !strings.Contains(out, "system:serviceaccount:kube-system:admin") {
		t.Errorf("the kubeconfig should act as the admin service account:\n%s", out)
	}
}

// TestSeed003HelmTemplateThenUpgrade: `helm template … | kubectl apply -f -`, then
// `vkube create NAME --upgrade -f values.yaml` enabling ingress sync (seed 003).
func TestSeed003HelmTemplateThenUpgrade(t *testing.T) {
	c := newCLI(t)
	helm := helmBinary(t)
	hc := c.hc
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const name, ns = "my-vcluster", "my-vcluster-ns"
	c.ownNamespace(ctx, name, ns)
	rendered, err := c.runTool(ctx, helm, "template", name, chartDir(), "-n", ns)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	manifest := filepath.Join(t.TempDir(), "my_vcluster.yaml")
	if err := os.WriteFile(manifest, []byte(rendered), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl := filepath.Join(kubectlDir(), "kubectl")
	if out, err := c.runTool(ctx, kubectl, "apply", "-n", ns, "-f", manifest); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	waitControlPlaneReady(ctx, t, hc, ns, name)
	if out := c.must(ctx, "list"); !strings.Contains(out, name) || !strings.Contains(out, "Running") {
		t.Errorf("vkube list should show %s Running:\n%s", name, out)
	}
	c.refused(ctx, "--upgrade", "create", name, "-n", ns, "--connect=false")
	c.must(ctx, "create", name, "-n", ns, "--upgrade", "-f", seedValues("003_1.yaml"), "--connect=false")
	c.refused(ctx, "one virtual cluster per namespace", "create", "second", "-n", ns, "--connect=false")

	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("nginx"), Rules: []networkingv1.IngressRule{{Host: "web.example.test",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}}}}},
	}
	ingFile := filepath.Join(t.TempDir(), "ingress.yaml")
	writeManifest(t, ingFile, ing)
	c.must(ctx, "connect", name, "-n", ns, "--", "kubectl", "apply", "-f", ingFile)
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer pcancel()
	poll(pctx, t, "the virtual Ingress synced to the host", func() bool {
		l, err := hc.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{LabelSelector: "vkube.io/managed-by=" + name})
		return err == nil && len(l.Items) == 1
	})
}

// TestSeed000ExposeIsolateConnect: seed 000's hardened legacy values with --isolate and
// --expose: the LoadBalancer address ends up in the kubeconfig, the isolation objects exist, and
// `connect NAME -- kubectl apply -f …` deploys through it.
func TestSeed000ExposeIsolateConnect(t *testing.T) {
	c := newCLI(t)
	hc := c.hc
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const name, ns = "seed-000", "vkube-seed-000"
	restrictedNamespace(ctx, t, hc, ns)
	t.Cleanup(func() { _, _ = c.run(context.Background(), "delete", name, "--delete-namespace") })
	out := c.must(ctx, "create", name, "-f", seedValues("000_1.yaml"), "-f", seedValues("000_3.yaml"), "--distro", "k8s",
		"--isolate", "--expose", "--connect=false")
	if n := strings.Count(out, "legacy vcluster chart values"); n != 1 {
		t.Errorf("want one warning about the legacy values, got %d:\n%s", n, out)
	}
	for _, get := range []func() error{
		func() error {
			_, err := hc.CoreV1().ResourceQuotas(ns).Get(ctx, name+"-quota", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := hc.CoreV1().LimitRanges(ns).Get(ctx, name+"-limit-range", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := hc.NetworkingV1().NetworkPolicies(ns).Get(ctx, name+"-workloads", metav1.GetOptions{})
			return err
		},
	} {
		if err := get(); err != nil {
			t.Errorf("isolation object: %v", err)
		}
	}
	c.refused(ctx, "already exists", "create", name, "--connect=false")
	var lbIP string
	pctx, pcancel := context.WithTimeout(ctx, time.Minute)
	poll(pctx, t, "a LoadBalancer address for the API Service", func() bool {
		svc, err := hc.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && len(svc.Status.LoadBalancer.Ingress) > 0 {
			lbIP = svc.Status.LoadBalancer.Ingress[0].IP
		}
		return lbIP != ""
	})
	pcancel()
	if out := c.must(ctx, "connect", name, "--print"); !strings.Contains(out, "https://"+lbIP) {
		t.Errorf("connect --print should use the LoadBalancer address %s:\n%s", lbIP, out)
	}
	deploy := helloDeployment("web", 1)
	deploy.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}
	// The host namespace enforces restricted, as the seed's hardened host does.
	deploy.Spec.Template.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(1000)),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	deploy.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	manifest := filepath.Join(t.TempDir(), "web.yaml")
	writeManifest(t, manifest, deploy)
	c.must(ctx, "connect", name, "--", "kubectl", "apply", "-f", manifest)
	pctx, pcancel = context.WithTimeout(ctx, 3*time.Minute)
	defer pcancel()
	poll(pctx, t, "the web pod Running on the host", func() bool { return syncedPods(ctx, hc, ns, name) == 1 })
}

func kubectlDir() string {
	dir, _ := binaries.Find(host.Config().KubeVersion, "kubectl")
	return dir
}
