package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/test/framework"
)

var (
	imageOnce sync.Once
	imageErr  error
)

// requireImage loads the vkube image (`make image`) into the host's containerd once, so that the
// chart's default image runs with imagePullPolicy IfNotPresent.
func requireImage(t *testing.T) {
	t.Helper()
	h := requireHost(t)
	imageOnce.Do(func() {
		tar := imageTar()
		if _, err := os.Stat(tar); err != nil {
			imageErr = errors.New("no vkube image at " + tar + ": run make image")
			return
		}
		imageErr = h.LoadImage(tar)
	})
	if imageErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(imageErr)
		}
		t.Skip(imageErr)
	}
}

func imageTar() string {
	if tar := os.Getenv("VKUBE_IMAGE_TAR"); tar != "" {
		return tar
	}
	return filepath.Join(framework.RepoRoot(), "bin", "vkube-image.tar")
}

// vkubeImage is the reference of the vkube image, loaded into the host's containerd.
func vkubeImage(t *testing.T) string {
	t.Helper()
	requireImage(t)
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(imageTar()) })
	if err != nil || len(m) != 1 || len(m[0].RepoTags) != 1 {
		t.Fatalf("the vkube image at %s has no single tag: %v", imageTar(), err)
	}
	return m[0].RepoTags[0]
}

// cli runs the vkube CLI against the host as a user would, with HOME in a temp dir so the
// user's kubeconfig is the test's.
type cli struct {
	t    *testing.T
	home string
	host string
	// hc is the host cluster's admin client, for checking what the commands did.
	hc kubernetes.Interface
}

func newCLI(t *testing.T) *cli {
	requireImage(t)
	return hostCLI(t)
}

// hostCLI is a cli for commands that need no vkube image on the host (delete of a virtual
// cluster that a local vkube ran).
func hostCLI(t *testing.T) *cli {
	h := requireHost(t)
	home := t.TempDir()
	kubeDir := filepath.Join(home, ".kube")
	if err := os.MkdirAll(kubeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(h.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(kubeDir, "config"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	hc, err := h.Client()
	if err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, home: home, host: filepath.Join(kubeDir, "config"), hc: hc}
}

func (c *cli) env() []string {
	return append(os.Environ(), "HOME="+c.home, "KUBECONFIG="+c.host, "XDG_CACHE_HOME="+filepath.Join(c.home, ".cache"),
		"PATH="+kubectlDir()+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// run runs vkube with args and returns stdout+stderr and the error.
func (c *cli) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, vkubeBin, args...)
	cmd.Env = c.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	c.t.Logf("vkube %s (%v)\n%s", strings.Join(args, " "), err, framework.Tail(out.String(), 40))
	return out.String(), err
}

func (c *cli) must(ctx context.Context, args ...string) string {
	c.t.Helper()
	out, err := c.run(ctx, args...)
	if err != nil {
		c.t.Fatalf("vkube %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// refused runs a command that must fail with one line naming want.
func (c *cli) refused(ctx context.Context, want string, args ...string) {
	c.t.Helper()
	out, err := c.run(ctx, args...)
	if err == nil {
		c.t.Fatalf("vkube %s succeeded, want a refusal naming %q", strings.Join(args, " "), want)
	}
	if !strings.Contains(out, want) {
		c.t.Fatalf("vkube %s: want an error naming %q, got:\n%s", strings.Join(args, " "), want, out)
	}
}

func syncedPods(ctx context.Context, hc kubernetes.Interface, ns, vc string) int {
	pods, err := hc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "vkube.io/managed-by=" + vc})
	if err != nil {
		return -1
	}
	n := 0
	for _, p := range pods.Items {
		if p.Status.Phase == "Running" && p.DeletionTimestamp == nil {
			n++
		}
	}
	return n
}

func namespaceGone(ctx context.Context, hc kubernetes.Interface, ns string) bool {
	_, err := hc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

// TestCreatePauseResumeDelete is seed 004 end to end with vkube in a real pod: create → the
// tenant's kubectl sees a fresh cluster → a Deployment runs → pause (host pods gone, StatefulSet
// at 0) → resume (back) → delete (nothing left).
func TestCreatePauseResumeDelete(t *testing.T) {
	c := newCLI(t)
	hc := c.hc
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	const name, ns = "recover-vcluster", "vkube-recover-vcluster"
	t.Cleanup(func() { _, _ = c.run(context.Background(), "delete", name) })

	// Seed 004: create connects in the foreground; the tenant's plain kubectl then works, and
	// ctrl+c switches the kubeconfig back.
	start := time.Now()
	fg := exec.CommandContext(ctx, vkubeBin, "create", name)
	fg.Env = c.env()
	var fgOut bytes.Buffer
	fg.Stdout, fg.Stderr = &fgOut, &fgOut
	if err := fg.Start(); err != nil {
		t.Fatal(err)
	}
	var out string
	pctx, pcancel := context.WithTimeout(ctx, 4*time.Minute)
	kubectl := filepath.Join(kubectlDir(), "kubectl")
	poll(pctx, t, "the tenant's kubectl working through the switched context", func() bool {
		if cur, err := c.runTool(ctx, kubectl, "config", "current-context"); err != nil || !strings.HasPrefix(cur, "vkube_"+name) {
			return false
		}
		o, err := c.runTool(ctx, kubectl, "get", "namespaces", "-o", "name")
		out = o
		return err == nil && strings.Contains(o, "namespace/kube-system")
	})
	pcancel()
	t.Logf("BENCH create→tenant kubectl works: %.1fs", time.Since(start).Seconds())
	if err := fg.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := fg.Wait(); err != nil {
		t.Fatalf("vkube create, interrupted while connected: %v\n%s", err, fgOut.String())
	}
	t.Logf("vkube create (foreground):\n%s", framework.Tail(fgOut.String(), 20))
	if cur, _ := c.runTool(ctx, kubectl, "config", "current-context"); strings.TrimSpace(cur) != "vkube-host" {
		t.Errorf("after ctrl+c the context should be the host's again, got %q", cur)
	}
	for _, want := range []string{"namespace/default", "namespace/kube-system"} {
		if !strings.Contains(out, want) {
			t.Fatalf("tenant kubectl get namespaces: want %s in\n%s", want, out)
		}
	}
	for _, obj := range []struct{ kind, name string }{
		{"statefulset", name}, {"service", name}, {"service", name + "-headless"}, {"service", name + "-kubelet"},
		{"secret", "vc-" + name}, {"secret", name + "-certs"}, {"secret", "vc-config-" + name},
	} {
		if err := hostObjectExists(ctx, hc, ns, obj.kind, obj.name); err != nil {
			t.Errorf("host %s %s: %v", obj.kind, obj.name, err)
		}
	}
	svc, err := hc.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err == nil && svc.Spec.Ports[0].Port != 443 {
		t.Errorf("API Service port %d, want 443", svc.Spec.Ports[0].Port)
	}
	// Issue 15: the certificates with their SANs, issuer and expiry.
	var infos []certs.Info
	if err := json.Unmarshal([]byte(c.must(ctx, "certs", "check", name, "-o", "json")), &infos); err != nil {
		t.Fatalf("vkube certs check -o json: %v", err)
	}
	apiserverSAN := name + "." + ns + ".svc"
	if i := slices.IndexFunc(infos, func(c certs.Info) bool { return c.File == certs.APIServerCert }); i < 0 || !slices.Contains(infos[i].DNSNames, apiserverSAN) ||
		infos[i].CA || time.Until(infos[i].NotAfter) < 300*24*time.Hour || !infos[0].CA {
		t.Errorf("vkube certs check: no fresh %s with SAN %s after the CAs: %+v", certs.APIServerCert, apiserverSAN, infos)
	}
	if table := c.must(ctx, "certs", "check", name); !strings.Contains(table, certs.APIServerCert) || !strings.Contains(table, apiserverSAN) {
		t.Errorf("vkube certs check table:\n%s", table)
	}

	if out := c.must(ctx, "__complete", "pause", ""); !strings.Contains(out, name) {
		t.Errorf("shell completion of vkube pause should offer %s:\n%s", name, out)
	}
	manifest := filepath.Join(t.TempDir(), "nginx.yaml")
	deploy := helloDeployment("nginx", 2)
	deploy.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}
	writeManifest(t, manifest, deploy)
	c.must(ctx, "connect", name, "--", "kubectl", "apply", "-f", manifest)
	pctx, pcancel = context.WithTimeout(ctx, 3*time.Minute)
	poll(pctx, t, "2 nginx pods Running on the host", func() bool { return syncedPods(ctx, hc, ns, name) == 2 })
	pcancel()
	if _, err := hc.AppsV1().Deployments(ns).Get(ctx, "nginx", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the virtual Deployment must not exist on the host: %v", err)
	}

	start = time.Now()
	c.must(ctx, "pause", name)
	t.Logf("BENCH pause→host pods gone: %.1fs", time.Since(start).Seconds())
	sts, err := hc.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil || *sts.Spec.Replicas != 0 {
		t.Fatalf("paused StatefulSet: %v replicas %v", err, sts.Spec.Replicas)
	}
	if pods, _ := hc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "vkube.io/managed-by=" + name}); len(pods.Items) != 0 {
		t.Fatalf("paused: %d synced pods left on the host", len(pods.Items))
	}
	if out := c.must(ctx, "list", "-n", ns); !strings.Contains(out, "Paused") {
		t.Errorf("vkube list while paused:\n%s", out)
	}

	start = time.Now()
	c.must(ctx, "resume", name)
	pctx, pcancel = context.WithTimeout(ctx, 3*time.Minute)
	poll(pctx, t, "the nginx pods Running on the host again", func() bool { return syncedPods(ctx, hc, ns, name) == 2 })
	pcancel()
	t.Logf("BENCH resume→workloads Running: %.1fs", time.Since(start).Seconds())
	if out := c.must(ctx, "list", "-o", "json"); !strings.Contains(out, `"status": "Running"`) {
		t.Errorf("vkube list -o json after resume:\n%s", out)
	}

	// --background: a detached proxy keeps the switched context working after connect returns;
	// delete stops it and switches back.
	c.must(ctx, "connect", name, "--background")
	if out, err := c.runTool(ctx, kubectl, "get", "namespaces", "-o", "name"); err != nil || strings.Contains(out, "namespace/"+ns) {
		t.Errorf("kubectl through the background proxy should see the virtual namespaces: %v\n%s", err, out)
	}
	c.must(ctx, "delete", name)
	if cur, _ := c.runTool(ctx, kubectl, "config", "current-context"); strings.TrimSpace(cur) != "vkube-host" {
		t.Errorf("after delete the context should be the host's again, got %q", cur)
	}
	pctx, pcancel = context.WithTimeout(ctx, 3*time.Minute)
	poll(pctx, t, "host namespace "+ns+" gone", func() bool { return namespaceGone(ctx, hc, ns) })
	pcancel()
	c.refused(ctx, "not found", "delete", name)
}

func hostObjectExists(ctx context.Context, hc kubernetes.Interface, ns, kind, name string) error {
	var err error
	switch kind {
	case "statefulset":
		_, err = hc.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	case "service":
		_, err = hc.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	case "secret":
		_, err = hc.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	default:
		err = errors.New("unknown kind " + kind)
	}
	return err
}

// writeManifest writes objects as a YAML stream for kubectl apply -f.
func writeManifest(t *testing.T, path string, objs ...runtime.Object) {
	t.Helper()
	var buf bytes.Buffer
	for _, o := range objs {
		data, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCreateRefusals: bad input is one clear line and nothing is left on the host.
func TestCreateRefusals(t *testing.T) {
	c := newCLI(t)
	hc := c.hc
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	long := strings.Repeat("a", 53)
	c.refused(ctx, "at most 52", "create", long, "--connect=false")
	bad := filepath.Join(t.TempDir(), "vkube.yaml")
	if err := os.WriteFile(bad, []byte("controlPlane:\n  statefullSet:\n    highAvailability:\n      replicas: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.refused(ctx, "statefulSet", "create", "typo", "-f", bad, "--connect=false")
	c.refused(ctx, "unknown distro", "create", "typo", "--distro", "k9s", "--connect=false")
	c.refused(ctx, "--kubernetes-version", "create", "typo", "--distro", "k8s", "-f", seedValues("004_4.yaml"), "--connect=false")
	c.refused(ctx, "not found", "delete", "never-created")
	c.refused(ctx, "not found", "pause", "never-created")
	for _, ns := range []string{"vkube-" + long, "vkube-typo", "vkube-never-created"} {
		if !namespaceGone(ctx, hc, ns) {
			t.Errorf("a refused command left namespace %s", ns)
		}
	}

	// A user who may not write the namespace: a service account with no rights at all.
	locked := limitedKubeconfig(ctx, t, hc, "vkube-locked")
	c.refused(ctx, "you cannot create", "create", "locked", "-n", "vkube-locked", "--kubeconfig", locked, "--connect=false")
	if sets, _ := hc.AppsV1().StatefulSets("vkube-locked").List(ctx, metav1.ListOptions{}); len(sets.Items) != 0 {
		t.Errorf("a refused create left %d StatefulSets", len(sets.Items))
	}
}

// limitedKubeconfig is a kubeconfig for a service account of namespace ns that has no RBAC
// rights at all, as a user who may not write there.
func limitedKubeconfig(ctx context.Context, t *testing.T, hc kubernetes.Interface, ns string) string {
	t.Helper()
	if _, err := hc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hc.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nobody"}}
	if _, err := hc.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tok, err := hc.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "nobody", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := host.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	ca := rc.CAData
	if len(ca) == 0 {
		ca = framework.ReadFile(t, rc.CAFile)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["host"] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthorityData: ca}
	kc.AuthInfos["nobody"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	kc.Contexts["nobody"] = &clientcmdapi.Context{Cluster: "host", AuthInfo: "nobody", Namespace: ns}
	kc.CurrentContext = "nobody"
	path := filepath.Join(t.TempDir(), "nobody.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestNestedVirtualCluster: a virtual cluster inside a virtual cluster (seeds 000 and 003): vkube
// create run against the outer one's kubeconfig; the inner one's tenant kubectl works and its
// pods end up on the real host through both syncers.
func TestNestedVirtualCluster(t *testing.T) {
	c := newCLI(t)
	hc := c.hc
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const outer, inner = "outer", "inner"
	t.Cleanup(func() { _, _ = c.run(context.Background(), "delete", outer) })
	c.must(ctx, "create", outer, "--connect=false")
	c.must(ctx, "connect", outer, "--", vkubeBin, "create", inner, "--connect=false", "--timeout", "4m")
	out := c.must(ctx, "connect", outer, "--", vkubeBin, "connect", inner, "--", "kubectl", "get", "namespaces", "-o", "name")
	if !strings.Contains(out, "namespace/default") {
		t.Fatalf("the inner tenant's kubectl:\n%s", out)
	}
	deploy := helloDeployment("deep", 1)
	deploy.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}
	manifest := filepath.Join(t.TempDir(), "deep.yaml")
	writeManifest(t, manifest, deploy)
	c.must(ctx, "connect", outer, "--", vkubeBin, "connect", inner, "--", "kubectl", "apply", "-f", manifest)
	pctx, pcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer pcancel()
	poll(pctx, t, "the inner cluster's pod Running on the real host", func() bool {
		pods, err := hc.CoreV1().Pods("vkube-"+outer).List(ctx, metav1.ListOptions{LabelSelector: "vkube.io/managed-by=" + outer})
		if err != nil {
			return false
		}
		for _, p := range pods.Items {
			if strings.HasPrefix(p.Name, "deep-") && p.Status.Phase == corev1.PodRunning {
				return true
			}
		}
		return false
	})
}
