package certs

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

func TestKubeconfig(t *testing.T) {
	p, _ := ensure(t, &memStore{}, t.TempDir(), testOptions())
	data, err := p.Kubeconfig("https://127.0.0.1:6443", Admin, "vkube_vc")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(data)
	if err != nil {
		t.Fatalf("kubeconfig does not parse: %v", err)
	}
	if cfg.CurrentContext != "vkube_vc" {
		t.Errorf("current-context %q", cfg.CurrentContext)
	}
	rest, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
	if err != nil {
		t.Fatalf("kubeconfig unusable: %v", err)
	}
	if rest.Host != "https://127.0.0.1:6443" || string(rest.CAData) != string(p.File(CACert)) {
		t.Errorf("host %q / CA data not the server CA", rest.Host)
	}
	if err := verify(t, rest.CertData, p.File(ClientCACert), x509.ExtKeyUsageClientAuth, "", time.Now()); err != nil {
		t.Errorf("kubeconfig client cert does not verify against client-ca: %v", err)
	}
	c := mustCert(t, rest.CertData)
	if c.Subject.CommonName != "kubernetes-admin" || !slices.Equal(c.Subject.Organization, []string{"system:masters"}) {
		t.Errorf("client cert subject %s", c.Subject)
	}

	path := filepath.Join(t.TempDir(), "kube", "config")
	if err := p.WriteKubeconfig(path, "https://vc.team-a.svc:443", ControllerManager, ""); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig mode %v (%v), want 0600", info.Mode().Perm(), err)
	}
	cfg, err = clientcmd.LoadFromFile(path)
	if err != nil || cfg.CurrentContext != "vc" {
		t.Fatalf("written kubeconfig: context %q, %v", cfg.CurrentContext, err)
	}
}

func TestKubeconfigRejects(t *testing.T) {
	p, _ := ensure(t, &memStore{}, t.TempDir(), testOptions())
	for _, tc := range []struct {
		server string
		id     Identity
	}{
		{"http://127.0.0.1:6443", Admin},
		{"127.0.0.1:6443", Admin},
		{"https://127.0.0.1:6443", FrontProxyClient},
		{"https://127.0.0.1:6443", APIServerEtcdClient},
		{"https://127.0.0.1:6443", Identity("nobody")},
	} {
		if _, err := p.Kubeconfig(tc.server, tc.id, ""); err == nil {
			t.Errorf("Kubeconfig(%q, %q) succeeded", tc.server, tc.id)
		}
	}
}
