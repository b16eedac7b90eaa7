package syncer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"vkube.io/vkube/certs"
)

// pinFixture is a real PKI as vkube issues it, in a directory renewal rewrites.
type pinFixture struct {
	store certs.Store
	dir   string
	pki   *certs.PKI
}

func newPinFixture(t *testing.T) *pinFixture {
	t.Helper()
	f := &pinFixture{store: certs.NewDirStore(t.TempDir()), dir: t.TempDir()}
	f.ensure(t, time.Now)
	return f
}

func (f *pinFixture) ensure(t *testing.T, now func() time.Time) {
	t.Helper()
	pki, _, err := certs.Ensure(context.Background(), f.store, f.dir, certs.Options{Name: "vc", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	f.pki = pki
}

func (f *pinFixture) pin(cert string) ClientPin {
	path := f.pki.Path(cert)
	return ClientPin{CA: f.pki.File(certs.ClientCACert), Cert: func() ([]byte, error) { return os.ReadFile(path) }}
}

// call makes one HTTPS request to url presenting certPEM/keyPEM and reports whether the TLS
// handshake (and with it the client authentication) succeeded.
func (f *pinFixture) call(t *testing.T, method, url string, certPEM, keyPEM []byte) error {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(f.pki.File(certs.CACert))
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}}}
	req, err := http.NewRequest(method, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 500 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

func (f *pinFixture) servingPair(t *testing.T) ([]byte, []byte) {
	t.Helper()
	c, k, err := f.pki.SignKubeletServingCert("vkube-vc", []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

// TestKubeletEndpointAdmitsOnlyTheAPIServer: a certificate from the client CA with the API
// server's own name and groups (what a tenant gets through an approved CSR, which the controller
// manager signs with that CA) is refused; the API server's certificate is admitted, and still is
// after renewal, which keeps the key.
func TestKubeletEndpointAdmitsOnlyTheAPIServer(t *testing.T) {
	f := newPinFixture(t)
	servingCert, servingKey := f.servingPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := ServeKubelet(ctx, KubeletConfig{Listen: "127.0.0.1:0", ServingCert: servingCert, ServingKey: servingKey,
		Client: f.pin(certs.APIServerKubeletClientCert), Host: &rest.Config{Host: "https://127.0.0.1:1"},
		HostNamespace: "team-a", VCluster: "vc", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	url := "https://" + addr.String() + "/healthz"
	real := func() error {
		return f.call(t, http.MethodGet, url, f.pki.File(certs.APIServerKubeletClientCert), f.pki.File(certs.APIServerKubeletClientKey))
	}
	if err := real(); err != nil {
		t.Fatalf("the API server's kubelet-client certificate was refused: %v", err)
	}
	forgedCert, forgedKey, err := f.pki.SignClientCert("kube-apiserver-kubelet-client", []string{"system:masters"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.call(t, http.MethodGet, url, forgedCert, forgedKey); err == nil {
		t.Fatal("a client-CA certificate with the API server's name but another key was admitted")
	}
	if err := f.call(t, http.MethodGet, url, f.pki.File(certs.AdminCert), f.pki.File(certs.AdminKey)); err == nil {
		t.Fatal("the admin certificate was admitted to the kubelet endpoint")
	}

	// Renewal: a year on, the certificate is re-issued with the same key.
	before := string(f.pki.File(certs.APIServerKubeletClientCert))
	f.ensure(t, func() time.Time { return time.Now().Add(300 * 24 * time.Hour) })
	if string(f.pki.File(certs.APIServerKubeletClientCert)) == before {
		t.Fatal("the certificate was not renewed")
	}
	if err := f.call(t, http.MethodGet, url, []byte(before), f.pki.File(certs.APIServerKubeletClientKey)); err != nil {
		t.Errorf("the certificate the API server still holds until it reloads was refused after renewal: %v", err)
	}
}

// TestWebhookAdmitsOnlyTheAPIServer: the Service webhook serves only the API server's webhook
// client certificate; a local user or a CSR-issued certificate of the same name gets no TLS
// connection, let alone a host Service.
func TestWebhookAdmitsOnlyTheAPIServer(t *testing.T) {
	f := newPinFixture(t)
	servingCert, servingKey := f.servingPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing answers at these addresses: the test reaches no further than the handler's
	// first refusal of a request body that is no AdmissionReview.
	nowhere, err := kubernetes.NewForConfig(&rest.Config{Host: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ServeServiceWebhook(ctx, WebhookConfig{Listener: l, ServingCert: servingCert, ServingKey: servingKey,
		Client: f.pin(certs.APIServerWebhookClientCert), Virtual: nowhere, Host: nowhere, HostNamespace: "team-a", VCluster: "vc",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
		t.Fatal(err)
	}
	url := "https://" + l.Addr().String() + "/mutate-services"
	if err := f.call(t, http.MethodPost, url, f.pki.File(certs.APIServerWebhookClientCert), f.pki.File(certs.APIServerWebhookClientKey)); err != nil {
		t.Fatalf("the API server's webhook client certificate was refused: %v", err)
	}
	forgedCert, forgedKey, err := f.pki.SignClientCert("kube-apiserver-webhook-client", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.call(t, http.MethodPost, url, forgedCert, forgedKey); err == nil {
		t.Fatal("a client-CA certificate with the webhook client's name but another key was admitted")
	}
	if err := f.call(t, http.MethodPost, url, f.pki.File(certs.APIServerKubeletClientCert), f.pki.File(certs.APIServerKubeletClientKey)); err == nil {
		t.Fatal("the kubelet-client certificate was admitted to the webhook")
	}
	// Without a client certificate at all.
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(f.pki.File(certs.CACert))
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	if resp, err := c.Post(url, "application/json", strings.NewReader("{}")); err == nil {
		resp.Body.Close()
		t.Fatal("a caller without a client certificate was served")
	}
}
