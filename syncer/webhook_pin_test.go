package syncer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/certs/certstest"
)

// TestWebhookAdmitsOnlyTheAPIServer: the Service webhook serves only the API server's webhook
// client certificate; a local user or a CSR-issued certificate of the same name gets no TLS
// connection, let alone a host Service.
func TestWebhookAdmitsOnlyTheAPIServer(t *testing.T) {
	f := certstest.New(t)
	servingCert, servingKey := f.ServingPair(t)
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
		Client: f.Pin(certs.APIServerWebhookClientCert), Virtual: nowhere, Host: nowhere, HostNamespace: "team-a", VCluster: "vc",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
		t.Fatal(err)
	}
	url := "https://" + l.Addr().String() + "/mutate-services"
	if err := f.Call(t, http.MethodPost, url, f.PKI.File(certs.APIServerWebhookClientCert), f.PKI.File(certs.APIServerWebhookClientKey)); err != nil {
		t.Fatalf("the API server's webhook client certificate was refused: %v", err)
	}
	forgedCert, forgedKey, err := f.PKI.SignClientCert("kube-apiserver-webhook-client", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Call(t, http.MethodPost, url, forgedCert, forgedKey); err == nil {
		t.Fatal("a client-CA certificate with the webhook client's name but another key was admitted")
	}
	if err := f.Call(t, http.MethodPost, url, f.PKI.File(certs.APIServerKubeletClientCert), f.PKI.File(certs.APIServerKubeletClientKey)); err == nil {
		t.Fatal("the kubelet-client certificate was admitted to the webhook")
	}
	// Without a client certificate at all.
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(f.PKI.File(certs.CACert))
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	if resp, err := c.Post(url, "application/json", strings.NewReader("{}")); err == nil {
		resp.Body.Close()
		t.Fatal("a caller without a client certificate was served")
	}
}
