package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"vkube.io/vkube/cli/connect"
	"vkube.io/vkube/cli/hostflags"
	"vkube.io/vkube/test/framework"
)

// connectHost is a standalone virtual cluster standing in for the host of the virtual clusters
// connect reaches: their admin Secrets hold its own admin kubeconfig, so a kubeconfig connect
// builds for --server at its address really works.
type connectHost struct {
	v     *framework.VCluster
	c     kubernetes.Interface
	admin *clientcmdapi.Config
	// context is the current context of the host kubeconfig.
	context string
}

// TestConnect: what `vkube connect` does with the host's objects, as a real apiserver holds them.
// The port-forward to a ready pod needs a kubelet: test/e2e covers it (cli_test.go, seeds_test.go).
func TestConnect(t *testing.T) {
	v := apiServer(t, "vc-connect-host")
	admin, err := clientcmd.LoadFromFile(v.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	h := &connectHost{v: v, c: v.Client(), admin: admin, context: admin.CurrentContext}
	// Parallel: the pending load balancer's wait takes a minute of doing nothing.
	for _, tc := range []struct {
		name string
		test func(*testing.T, *connectHost)
	}{
		{"an unknown virtual cluster", connectUnknown},
		{"--print with --server", connectPrintServer},
		{"switches to the load balancer's address", connectSwitchLoadBalancer},
		{"a pending load balancer falls back to a forward", connectPendingLoadBalancer},
		{"port-forward refusals", connectPortForwardRefusals},
		{"runs a command", connectCommand},
		{"a ServiceAccount's token", connectServiceAccount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, h)
		})
	}
}

// hostKubeconfig is a copy of the host's admin kubeconfig for connect to switch.
func (h *connectHost) hostKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, framework.ReadFile(t, h.v.Kubeconfig()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// addVirtualCluster makes the host hold virtual cluster name's admin Secret in namespace ns.
func (h *connectHost) addVirtualCluster(t *testing.T, name, ns string) {
	t.Helper()
	ctx := t.Context()
	if _, err := h.c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	mustCreate(t, h.c.CoreV1().Secrets(ns).Create, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: connect.SecretName(name), Labels: map[string]string{"vkube.io/cluster": name}},
		Data:       map[string][]byte{"config": framework.ReadFile(t, h.v.Kubeconfig())},
	})
}

// run is `vkube connect` with --kubeconfig kubeconfig.
func (h *connectHost) run(t *testing.T, kubeconfig string, o connect.Options) (out, errOut string, err error) {
	t.Helper()
	cmd := &cobra.Command{}
	host := hostflags.Add(cmd)
	if err := cmd.Flags().Set("kubeconfig", kubeconfig); err != nil {
		t.Fatal(err)
	}
	var o1, o2 bytes.Buffer
	err = connect.Run(t.Context(), host, o, &o1, &o2)
	return o1.String(), o2.String(), err
}

func (h *connectHost) adminUser() *clientcmdapi.AuthInfo {
	return h.admin.AuthInfos[h.admin.Contexts[h.admin.CurrentContext].AuthInfo]
}

func (h *connectHost) adminCluster() *clientcmdapi.Cluster {
	return h.admin.Clusters[h.admin.Contexts[h.admin.CurrentContext].Cluster]
}

func currentContext(t *testing.T, path string) string {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return kc.CurrentContext
}

func connectUnknown(t *testing.T, h *connectHost) {
	_, _, err := h.run(t, h.hostKubeconfig(t), connect.Options{Name: "my-vcluster", Print: true})
	want := "virtual cluster my-vcluster not found in namespace vkube-my-vcluster (vkube list shows them)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func connectPrintServer(t *testing.T, h *connectHost) {
	h.addVirtualCluster(t, "tenant-1", "tenant-1")
	path := h.hostKubeconfig(t)
	out, _, err := h.run(t, path, connect.Options{Name: "tenant-1", Namespace: "tenant-1", Print: true,
		Server: "tenant-1-vcluster.example.com", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	kc, err := clientcmd.Load([]byte(out))
	if err != nil {
		t.Fatalf("printed kubeconfig: %v\n%s", err, out)
	}
	name := connect.ContextName("tenant-1", "tenant-1", h.context)
	c := kc.Clusters[name]
	if kc.CurrentContext != name || c == nil || c.Server != "https://tenant-1-vcluster.example.com" || !c.InsecureSkipTLSVerify || len(c.CertificateAuthorityData) != 0 {
		t.Fatalf("printed kubeconfig:\n%s", out)
	}
	if u := kc.AuthInfos[name]; u == nil || !bytes.Equal(u.ClientCertificateData, h.adminUser().ClientCertificateData) {
		t.Fatal("the printed kubeconfig lacks the admin certificate of the Secret")
	}
	if cur := currentContext(t, path); cur != h.context {
		t.Fatalf("--print changed the user's kubeconfig to context %q", cur)
	}
}

func connectSwitchLoadBalancer(t *testing.T, h *connectHost) {
	ctx := t.Context()
	h.addVirtualCluster(t, "lb", "vkube-lb")
	services := h.c.CoreV1().Services("vkube-lb")
	svc, err := services.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "lb"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 443}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.7"}}
	if _, err := services.UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	path := h.hostKubeconfig(t)
	_, errOut, err := h.run(t, path, connect.Options{Name: "lb", ContextName: "my-vc"})
	if err != nil {
		t.Fatal(err)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if kc.CurrentContext != "my-vc" {
		t.Fatalf("current context %q", kc.CurrentContext)
	}
	c := kc.Clusters["my-vc"]
	if c.Server != "https://203.0.113.7:443" || c.TLSServerName != "lb" || !bytes.Equal(c.CertificateAuthorityData, h.adminCluster().CertificateAuthorityData) {
		t.Fatalf("cluster %+v", c)
	}
	if !strings.Contains(errOut, `Switched to context "my-vc"`) {
		t.Fatalf("output: %s", errOut)
	}
}

func connectCommand(t *testing.T, h *connectHost) {
	h.addVirtualCluster(t, "vc", "vkube-vc")
	path := h.hostKubeconfig(t)
	o := connect.Options{Name: "vc", Server: "https://10.0.0.1:6443",
		Command: []string{"sh", "-c", `stat -c %a "$KUBECONFIG"; cat "$KUBECONFIG"; echo "$KUBECONFIG" >&2; exit 3`}}
	out, errOut, err := h.run(t, path, o)
	var ee *connect.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("got %v, want ExitError 3", err)
	}
	if !strings.HasPrefix(out, "600\n") || !strings.Contains(out, "server: https://10.0.0.1:6443") {
		t.Fatalf("command saw:\n%s", out)
	}
	tmp := strings.TrimSpace(errOut)
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary kubeconfig %q left behind (%v)", tmp, err)
	}
	if cur := currentContext(t, path); cur != h.context {
		t.Fatalf("a command changed the user's kubeconfig to context %q", cur)
	}

	o.Command = []string{"true"}
	if _, _, err := h.run(t, path, o); err != nil {
		t.Fatalf("exit 0: %v", err)
	}
	o.Command = []string{"sh", "-c", "kill -TERM $$"}
	if _, _, err := h.run(t, path, o); !errors.As(err, &ee) || ee.Code != 128+15 {
		t.Fatalf("killed by SIGTERM: %v, want ExitError 143", err)
	}
	o.Command = []string{"/nonexistent/vkube-test"}
	if _, _, err := h.run(t, path, o); err == nil || errors.As(err, &ee) {
		t.Fatalf("missing command: %v", err)
	}
}

func connectServiceAccount(t *testing.T, h *connectHost) {
	ctx := t.Context()
	h.addVirtualCluster(t, "sa", "vkube-sa")
	o := connect.Options{Name: "sa", Server: h.v.RESTConfig().Host, ServiceAccount: "admin", ClusterRole: "cluster-admin", Print: true}
	var out string
	for range 2 { // idempotent
		var err error
		if out, _, err = h.run(t, h.hostKubeconfig(t), o); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(out))
	if err != nil {
		t.Fatalf("printed kubeconfig: %v\n%s", err, out)
	}
	if cfg.BearerToken == "" || len(cfg.CertData) != 0 {
		t.Fatalf("the kubeconfig should authenticate with a token only:\n%s", out)
	}
	asSA := kubernetes.NewForConfigOrDie(cfg)
	review, err := asSA.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := review.Status.UserInfo.Username; u != "system:serviceaccount:kube-system:admin" {
		t.Fatalf("the kubeconfig acts as %q", u)
	}
	if _, err := asSA.CoreV1().Secrets("vkube-sa").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("the ServiceAccount is no cluster-admin: %v", err)
	}
	if lifetime := tokenLifetime(t, cfg.BearerToken); lifetime < 364*24*time.Hour {
		t.Errorf("token valid for %s, want a year", lifetime)
	}
}

// tokenLifetime is exp - iat of a ServiceAccount token (a JWT).
func tokenLifetime(t *testing.T, token string) time.Duration {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token is no JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct{ Exp, Iat int64 }
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return time.Duration(claims.Exp-claims.Iat) * time.Second
}
