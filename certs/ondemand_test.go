package certs

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

func TestSignClientCert(t *testing.T) {
	p, _ := ensure(t, &memStore{}, t.TempDir(), testOptions())
	certPEM, keyPEM, err := p.SignClientCert("system:serviceaccount:default:ci", []string{"system:serviceaccounts", "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	if err := verify(t, certPEM, p.File(ClientCACert), x509.ExtKeyUsageClientAuth, "", time.Now()); err != nil {
		t.Fatalf("does not verify against client-ca: %v", err)
	}
	c := mustCert(t, certPEM)
	if c.Subject.CommonName != "system:serviceaccount:default:ci" || !sameSet(c.Subject.Organization, []string{"system:serviceaccounts", "ci"}) {
		t.Errorf("subject %s", c.Subject)
	}
	data, err := p.KubeconfigForCert("https://127.0.0.1:6443", "ci", certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clientcmd.Load(data); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.SignClientCert("", nil); err == nil {
		t.Error("empty user accepted")
	}
}

func TestSignKubeletServingCert(t *testing.T) {
	p, _ := ensure(t, &memStore{}, t.TempDir(), testOptions())
	certPEM, keyPEM, err := p.SignKubeletServingCert("node-1", []net.IP{net.ParseIP("10.0.0.5")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"node-1", "10.0.0.5"} {
		if err := verify(t, certPEM, p.File(CACert), x509.ExtKeyUsageServerAuth, host, time.Now()); err != nil {
			t.Errorf("not valid for %s against ca.crt: %v", host, err)
		}
	}
	if c := mustCert(t, certPEM); c.Subject.CommonName != "system:node:node-1" {
		t.Errorf("subject %s", c.Subject)
	}
}
