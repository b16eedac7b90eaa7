package connect

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"
)

func adminSecret(t *testing.T, name, ns string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "vc-" + name, Namespace: ns, Labels: map[string]string{"vkube.io/cluster": name}},
		Data:       map[string][]byte{"config": secretKubeconfig(t)},
	}
}

func testSession(t *testing.T, o Options, objs ...runtime.Object) (*session, *bytes.Buffer, *bytes.Buffer, string) {
	t.Helper()
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config")
	writeKubeconfig(t, path, "host-a")
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	ns := o.Namespace
	if ns == "" {
		ns = "vkube-" + o.Name
	}
	return &session{
		o: o, namespace: ns, host: fake.NewClientset(objs...), hostContext: "host-a",
		access: explicitAccess(path), out: out, errOut: errOut,
	}, out, errOut, path
}

func TestNotFound(t *testing.T) {
	s, _, _, _ := testSession(t, Options{Name: "my-vcluster", Print: true})
	err := s.run(context.Background())
	want := "virtual cluster my-vcluster not found in namespace vkube-my-vcluster (vkube list shows them)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestPrintWithServer(t *testing.T) {
	s, out, _, path := testSession(t, Options{Name: "tenant-1", Namespace: "tenant-1", Print: true,
		Server: "tenant-1-vcluster.example.com", Insecure: true}, adminSecret(t, "tenant-1", "tenant-1"))
	if err := s.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	kc, err := clientcmd.Load(out.Bytes())
	if err != nil {
		t.Fatalf("printed kubeconfig: %v\n%s", err, out)
	}
	name := "vkube_tenant-1_tenant-1_host-a"
	c := kc.Clusters[name]
	if kc.CurrentContext != name || c == nil || c.Server != "https://tenant-1-vcluster.example.com" || !c.InsecureSkipTLSVerify || len(c.CertificateAuthorityData) != 0 {
		t.Fatalf("printed kubeconfig:\n%s", out)
	}
	if string(kc.AuthInfos[name].ClientCertificateData) != "CERT" {
		t.Fatalf("user: %+v", kc.AuthInfos[name])
	}
	if load(t, path).CurrentContext != "host-a" {
		t.Fatal("--print changed the user's kubeconfig")
	}
}

func TestSwitchWithLoadBalancer(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "vc", Namespace: "vkube-vc"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 443}}},
		Status:     corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "203.0.113.7"}}}},
	}
	s, _, errOut, path := testSession(t, Options{Name: "vc", ContextName: "my-vc"}, adminSecret(t, "vc", "vkube-vc"), svc)
	if err := s.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	kc := load(t, path)
	if kc.CurrentContext != "my-vc" {
		t.Fatalf("current context %q", kc.CurrentContext)
	}
	c := kc.Clusters["my-vc"]
	if c.Server != "https://203.0.113.7:443" || c.TLSServerName != "vc" || string(c.CertificateAuthorityData) != "CA" {
		t.Fatalf("cluster %+v", c)
	}
	if !strings.Contains(errOut.String(), `Switched to context "my-vc"`) {
		t.Fatalf("output: %s", errOut)
	}
}

func TestPendingLoadBalancerFallsBackToPortForward(t *testing.T) {
	old := loadBalancerWait
	loadBalancerWait = 100 * time.Millisecond
	defer func() { loadBalancerWait = old }()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "vc", Namespace: "vkube-vc"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
	}
	s, _, errOut, _ := testSession(t, Options{Name: "vc"}, svc)
	ep, err := s.endpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !ep.portForward {
		t.Fatalf("endpoint %+v, want a port-forward", ep)
	}
	if !strings.Contains(errOut.String(), "using a port-forward") {
		t.Fatalf("output: %s", errOut)
	}
}

func TestPortForwardErrors(t *testing.T) {
	zero := int32(0)
	one := int32(1)
	sts := func(r *int32) *appsv1.StatefulSet {
		return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "vc", Namespace: "team"}, Spec: appsv1.StatefulSetSpec{Replicas: r}}
	}
	notReady := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "vc-0", Namespace: "team", Labels: map[string]string{"app.kubernetes.io/name": "vkube", "app.kubernetes.io/instance": "vc"}},
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}
	for _, tc := range []struct {
		desc string
		objs []runtime.Object
		want string
	}{
		{"no StatefulSet", nil, "has no StatefulSet vc"},
		{"paused", []runtime.Object{sts(&zero)}, "virtual cluster vc in namespace team is paused (vkube resume vc -n team)"},
		{"not ready", []runtime.Object{sts(&one), notReady}, "no ready pod of virtual cluster vc in namespace team"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			objs := append([]runtime.Object{adminSecret(t, "vc", "team")}, tc.objs...)
			s, _, _, _ := testSession(t, Options{Name: "vc", Namespace: "team", ReadyTimeout: 100 * time.Millisecond}, objs...)
			err := s.run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCommand(t *testing.T) {
	s, out, _, path := testSession(t, Options{Name: "vc", Server: "https://10.0.0.1:6443",
		Command: []string{"sh", "-c", `stat -c %a "$KUBECONFIG"; cat "$KUBECONFIG"; echo "$KUBECONFIG" >&2; exit 3`}},
		adminSecret(t, "vc", "vkube-vc"))
	errOut := &bytes.Buffer{}
	s.errOut = errOut
	err := s.run(context.Background())
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("got %v, want ExitError 3", err)
	}
	if !strings.HasPrefix(out.String(), "600\n") || !strings.Contains(out.String(), "server: https://10.0.0.1:6443") {
		t.Fatalf("command saw:\n%s", out)
	}
	tmp := strings.TrimSpace(errOut.String())
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary kubeconfig %q left behind (%v)", tmp, err)
	}
	if load(t, path).CurrentContext != "host-a" {
		t.Fatal("a command changed the user's kubeconfig")
	}

	s.o.Command = []string{"true"}
	if err := s.run(context.Background()); err != nil {
		t.Fatalf("exit 0: %v", err)
	}
	s.o.Command = []string{"sh", "-c", "kill -TERM $$"}
	if err := s.run(context.Background()); !errors.As(err, &ee) || ee.Code != 128+15 {
		t.Fatalf("killed by SIGTERM: %v, want ExitError 143", err)
	}
	s.o.Command = []string{"/nonexistent/vkube-test"}
	if err := s.run(context.Background()); err == nil || errors.As(err, &ee) {
		t.Fatalf("missing command: %v", err)
	}
}

func TestServiceAccountToken(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenRequest)
		if tr.Spec.ExpirationSeconds == nil || *tr.Spec.ExpirationSeconds != tokenExpiration {
			t.Errorf("expiration %v", tr.Spec.ExpirationSeconds)
		}
		return true, &authenticationv1.TokenRequest{Status: authenticationv1.TokenRequestStatus{Token: "TOKEN"}}, nil
	})
	ctx := context.Background()
	for range 2 { // idempotent
		tok, err := ensureServiceAccountToken(ctx, client, "admin", "cluster-admin")
		if err != nil {
			t.Fatal(err)
		}
		if tok != "TOKEN" {
			t.Fatalf("token %q", tok)
		}
	}
	if _, err := client.CoreV1().ServiceAccounts("kube-system").Get(ctx, "admin", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	crb, err := client.RbacV1().ClusterRoleBindings().Get(ctx, "vkube-admin-cluster-admin", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if crb.RoleRef.Name != "cluster-admin" || crb.RoleRef.Kind != "ClusterRole" || len(crb.Subjects) != 1 ||
		crb.Subjects[0].Kind != "ServiceAccount" || crb.Subjects[0].Name != "admin" || crb.Subjects[0].Namespace != "kube-system" {
		t.Fatalf("binding %+v", crb)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, "name is required"},
		{Options{Name: "Bad_Name"}, "virtual cluster name"},
		{Options{Name: "vc", ClusterRole: "cluster-admin"}, "--cluster-role needs --service-account"},
		{Options{Name: "vc", ServiceAccount: "Not Valid"}, "--service-account"},
		{Options{Name: "vc", LocalPort: 70000}, "--local-port"},
		{Options{Name: "vc", Print: true, Command: []string{"kubectl"}}, "--print and a command"},
		{Options{Name: "vc", Background: true, Command: []string{"kubectl"}}, "--background and a command"},
	} {
		err := tc.o.validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.o, err, tc.want)
		}
	}
	o := Options{Name: "vc"}
	if err := o.validate(); err != nil || o.ReadyTimeout != DefaultReadyTimeout {
		t.Fatalf("defaults: %v %+v", err, o)
	}
}
