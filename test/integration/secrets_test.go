package integration

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/certs/certstest"
	"vkube.io/vkube/kubeletproxy"
	"vkube.io/vkube/syncer"
	"vkube.io/vkube/test/dbserver"
	"vkube.io/vkube/test/framework"
)

// TestChildrenHoldNoSecrets: with the DSN in VKUBE_DATASTORE_ENDPOINT (as the README says to
// give it) and a credential in vkube's environment, no child of `vkube start` has either in its
// environment or on its command line, which every local user can read in /proc.
func TestChildrenHoldNoSecrets(t *testing.T) {
	requireKube(t, kubeVersion)
	db := dbserver.StartPostgres(t)
	const unrelated = "vkube-test-unrelated-credential"
	v := framework.New(t, vkubeBin, "vc-secrets", "--backend", "postgres")
	v.Env = append(v.Env, "VKUBE_DATASTORE_ENDPOINT="+db.DSN(), "AWS_SECRET_ACCESS_KEY="+unrelated, "LC_ALL=C.UTF-8")
	v.Start()
	v.WaitReady(2 * time.Minute)

	forbidden := []string{db.Password(), db.DSN(), "VKUBE_DATASTORE_ENDPOINT", unrelated}
	kids := descendants(v.Cmd.Process.Pid)
	names := map[string]bool{}
	for _, pid := range kids {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue // exited meanwhile
		}
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			t.Fatalf("reading /proc/%d/environ: %v", pid, err)
		}
		name := filepath.Base(string(bytes.SplitN(cmdline, []byte{0}, 2)[0]))
		names[name] = true
		for _, s := range forbidden {
			if bytes.Contains(cmdline, []byte(s)) {
				t.Errorf("%s (pid %d): the command line holds %q", name, pid, s)
			}
			if bytes.Contains(environ, []byte(s)) {
				t.Errorf("%s (pid %d): the environment holds %q", name, pid, s)
			}
		}
		env := strings.Split(string(environ), "\x00")
		for _, want := range []string{"PATH=", "LC_ALL=C.UTF-8", "GOGC="} {
			if !hasPrefixIn(env, want) {
				t.Errorf("%s (pid %d): %s is not passed on: %q", name, pid, want, env)
			}
		}
	}
	for _, want := range []string{"kube-apiserver", "kube-controller-manager"} {
		if !names[want] {
			t.Errorf("no %s among vkube's children %v", want, names)
		}
	}
}

// TestEtcdURLWithPasswordRefused: an external etcd URL with user info would reach
// kube-apiserver's --etcd-servers; it is refused up front, in one line naming the field.
func TestEtcdURLWithPasswordRefused(t *testing.T) {
	requireKube(t, kubeVersion)
	dataDir := filepath.Join(t.TempDir(), "data")
	out, code := runVkube(t, nil, "start", "--name", "bad", "--data-dir", dataDir, "--backend", "etcd", "--datastore-endpoint", "https://root:hunter2@127.0.0.1:2379")
	msg := strings.TrimSpace(out)
	if code == 0 || !strings.Contains(msg, "controlPlane.backingStore.etcd.external.endpoint") || strings.Contains(msg, "hunter2") {
		t.Fatalf("exit %d, want a refusal naming the field without the password:\n%s", code, msg)
	}
	if _, err := os.Stat(dataDir); err == nil {
		t.Errorf("data dir %s was created by a refused start", dataDir)
	}
}

// TestLoopbackEndpointsAdmitOnlyTheAPIServer runs vkube's kubelet endpoint and Service webhook
// (the serving code the supervisor runs with a host cluster) with the PKI of a running virtual
// cluster. The real kube-apiserver reaches the kubelet endpoint with its kubelet-client
// certificate; a certificate a tenant gets signed by the client CA through a CSR, with the API
// server's own name and groups, is refused by both. (That the API server also presents its
// webhook client certificate to the webhook needs a host cluster: the e2e suite shows it, as
// every Service a tenant creates goes through the webhook.)
func TestLoopbackEndpointsAdmitOnlyTheAPIServer(t *testing.T) {
	requireKube(t, kubeVersion)
	v := framework.New(t, vkubeBin, "vc-pins")
	v.Start()
	v.WaitReady(2 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := v.Client()
	pkiDir := filepath.Join(v.DataDir, "pki")
	ca := framework.ReadFile(t, filepath.Join(pkiDir, certs.CACert))
	pin := func(cert string) certs.ClientPin {
		return certs.ClientPin{CA: framework.ReadFile(t, filepath.Join(pkiDir, certs.ClientCACert)),
			Cert: func() ([]byte, error) { return os.ReadFile(filepath.Join(pkiDir, cert)) }}
	}
	servingCert, servingKey := kubeletServingCert(t, pkiDir)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The host API is nowhere: a call the endpoint admits fails at the proxy, after TLS.
	nowhere := &rest.Config{Host: "https://127.0.0.1:1"}
	// The endpoint logs each call it proxies: the proof that a caller got past its TLS.
	var proxied lockedBuffer
	kaddr, err := kubeletproxy.Serve(ctx, kubeletproxy.Config{Listen: "127.0.0.1:0", ServingCert: servingCert, ServingKey: servingKey,
		Client: pin(certs.APIServerKubeletClientCert), Host: nowhere, HostNamespace: "team-a", VCluster: v.Name,
		Logger: slog.New(slog.NewTextHandler(&proxied, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nowhereClient, err := kubernetes.NewForConfig(nowhere)
	if err != nil {
		t.Fatal(err)
	}
	if err := syncer.ServeServiceWebhook(ctx, syncer.WebhookConfig{Listener: wl, ServingCert: servingCert, ServingKey: servingKey,
		Client: pin(certs.APIServerWebhookClientCert), Virtual: nowhereClient, Host: nowhereClient, HostNamespace: "team-a",
		VCluster: v.Name, Logger: quiet}); err != nil {
		t.Fatal(err)
	}

	// The real API server through the kubelet endpoint: a node at the endpoint, a pod on it,
	// the pod's log.
	_, port, _ := net.SplitHostPort(kaddr.String())
	kport, _ := strconv.Atoi(port)
	node, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "pinned"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(kport)
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{NodeName: "pinned", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The host API is nowhere, so the call itself fails, past the endpoint's TLS.
	_, err = client.CoreV1().Pods("default").GetLogs("p", &corev1.PodLogOptions{}).DoRaw(ctx)
	if !strings.Contains(proxied.String(), "proxying kubelet call") || !strings.Contains(proxied.String(), "/containerLogs/default/p/c") {
		t.Fatalf("the API server's log call did not get past the kubelet endpoint's TLS (log call: %v; endpoint log: %s)", err, proxied.String())
	}

	// A tenant who is cluster-admin gets the client CA to sign the API server's names.
	kubeletURL := "https://" + kaddr.String() + "/healthz"
	webhookURL := "https://" + wl.Addr().String() + "/mutate-services"
	// (The API server refuses a CSR for system:masters; the name alone is what a check by CA
	// and name would trust.)
	forgedKubelet, forgedKubeletKey := csrCertificate(ctx, t, client, "kube-apiserver-kubelet-client", nil)
	if err := certstest.Call(http.MethodPost, kubeletURL, ca, forgedKubelet, forgedKubeletKey); err == nil {
		t.Error("the kubelet endpoint admitted a CSR-issued certificate with the API server's name")
	}
	forgedWebhook, forgedWebhookKey := csrCertificate(ctx, t, client, "kube-apiserver-webhook-client", nil)
	if err := certstest.Call(http.MethodPost, webhookURL, ca, forgedWebhook, forgedWebhookKey); err == nil {
		t.Error("the Service webhook admitted a CSR-issued certificate with the API server's name")
	}
	// The certificates vkube issued the API server get in.
	real := func(id certs.Identity) ([]byte, []byte) {
		return framework.ReadFile(t, filepath.Join(pkiDir, id.CertFile())), framework.ReadFile(t, filepath.Join(pkiDir, id.KeyFile()))
	}
	if c, k := real(certs.APIServerKubeletClient); certstest.Call(http.MethodPost, kubeletURL, ca, c, k) != nil {
		t.Error("the kubelet endpoint refused the API server's kubelet-client certificate")
	}
	if c, k := real(certs.APIServerWebhookClient); certstest.Call(http.MethodPost, webhookURL, ca, c, k) != nil {
		t.Error("the Service webhook refused the API server's webhook client certificate")
	}
	if c, k := real(certs.Admin); certstest.Call(http.MethodPost, webhookURL, ca, c, k) == nil {
		t.Error("the Service webhook admitted the admin certificate")
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// descendants are the processes below pid, children first.
func descendants(pid int) []int {
	parents := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name may hold spaces and parentheses: fields follow the last ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		parents[ppid] = append(parents[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		kids := parents[queue[0]]
		queue = append(queue[1:], kids...)
		out = append(out, kids...)
	}
	return out
}

func hasPrefixIn(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// kubeletServingCert is a serving certificate for 127.0.0.1 signed by the virtual cluster's
// server CA, which the API server verifies kubelets with.
func kubeletServingCert(t *testing.T, pkiDir string) ([]byte, []byte) {
	t.Helper()
	// Ensure over a copy: the running cluster's own bundle must not change under it.
	copyDir := t.TempDir()
	for _, name := range certs.FileNames() {
		data, err := os.ReadFile(filepath.Join(pkiDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(copyDir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pki, _, err := certs.Ensure(context.Background(), certs.NewDirStore(copyDir), t.TempDir(), certs.Options{Name: "pins"})
	if err != nil {
		t.Fatal(err)
	}
	c, k, err := pki.SignKubeletServingCert("pinned", []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

// csrCertificate gets a client certificate for cn in orgs signed through the certificates API,
// as any cluster-admin of the virtual cluster can: create a CSR, approve it, wait for the
// controller manager to sign it.
func csrCertificate(ctx context.Context, t *testing.T, client kubernetes.Interface, cn string, orgs []string) ([]byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: orgs}}, key)
	if err != nil {
		t.Fatal(err)
	}
	name := "forge-" + strings.ReplaceAll(cn, ":", "-")
	csr := &certv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: certv1.CertificateSigningRequestSpec{
		Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		SignerName: certv1.KubeAPIServerClientSignerName,
		Usages:     []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageClientAuth},
	}}
	api := client.CertificatesV1().CertificateSigningRequests()
	created, err := api.Create(ctx, csr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status.Conditions = append(created.Status.Conditions, certv1.CertificateSigningRequestCondition{
		Type: certv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Test", Message: "a tenant approves its own CSR"})
	if _, err := api.UpdateApproval(ctx, name, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var certPEM []byte
	pollT(t, time.Minute, "the controller manager to sign "+name, func() bool {
		got, err := api.Get(ctx, name, metav1.GetOptions{})
		if err == nil && len(got.Status.Certificate) > 0 {
			certPEM = got.Status.Certificate
			return true
		}
		return false
	})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
