package kubeletproxy

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/certs/certstest"
)

// TestKubeletEndpointAdmitsOnlyTheAPIServer: a certificate from the client CA with the API
// server's own name and groups (what a tenant gets through an approved CSR, which the controller
// manager signs with that CA) is refused; the API server's certificate is admitted, and still is
// after renewal, which keeps the key.
func TestKubeletEndpointAdmitsOnlyTheAPIServer(t *testing.T) {
	f := certstest.New(t)
	servingCert, servingKey := f.ServingPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := Serve(ctx, Config{Listen: "127.0.0.1:0", ServingCert: servingCert, ServingKey: servingKey,
		Client: f.Pin(certs.APIServerKubeletClientCert), Host: &rest.Config{Host: "https://127.0.0.1:1"},
		HostNamespace: "team-a", VCluster: "vc", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	url := "https://" + addr.String() + "/healthz"
	real := func() error {
		return f.Call(t, http.MethodGet, url, f.PKI.File(certs.APIServerKubeletClientCert), f.PKI.File(certs.APIServerKubeletClientKey))
	}
	if err := real(); err != nil {
		t.Fatalf("the API server's kubelet-client certificate was refused: %v", err)
	}
	forgedCert, forgedKey, err := f.PKI.SignClientCert("kube-apiserver-kubelet-client", []string{"system:masters"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Call(t, http.MethodGet, url, forgedCert, forgedKey); err == nil {
		t.Fatal("a client-CA certificate with the API server's name but another key was admitted")
	}
	if err := f.Call(t, http.MethodGet, url, f.PKI.File(certs.AdminCert), f.PKI.File(certs.AdminKey)); err == nil {
		t.Fatal("the admin certificate was admitted to the kubelet endpoint")
	}

	// Renewal: a year on, the certificate is re-issued with the same key.
	before := string(f.PKI.File(certs.APIServerKubeletClientCert))
	f.Ensure(t, func() time.Time { return time.Now().Add(300 * 24 * time.Hour) })
	if string(f.PKI.File(certs.APIServerKubeletClientCert)) == before {
		t.Fatal("the certificate was not renewed")
	}
	if err := f.Call(t, http.MethodGet, url, []byte(before), f.PKI.File(certs.APIServerKubeletClientKey)); err != nil {
		t.Errorf("the certificate the API server still holds until it reloads was refused after renewal: %v", err)
	}
}
