// Package certstest is a virtual cluster's PKI as vkube issues it, in a temporary directory, for
// the tests of the endpoints that admit only a pinned client certificate (certs.ClientPin): the
// kubelet endpoint and the Service webhook.
package certstest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"vkube.io/vkube/certs"
)

// Fixture is a real PKI in a directory that renewal rewrites, as the supervisor's is.
type Fixture struct {
	PKI   *certs.PKI
	store certs.Store
	dir   string
}

// New issues a PKI for a virtual cluster named "vc".
func New(t *testing.T) *Fixture {
	t.Helper()
	f := &Fixture{store: certs.NewDirStore(t.TempDir()), dir: t.TempDir()}
	f.Ensure(t, time.Now)
	return f
}

// Ensure runs certs.Ensure as if the time were now(): a later time renews what is due, keeping
// the keys, as vkube's renewal does.
func (f *Fixture) Ensure(t *testing.T, now func() time.Time) {
	t.Helper()
	pki, _, err := certs.Ensure(context.Background(), f.store, f.dir, certs.Options{Name: "vc", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	f.PKI = pki
}

// Pin admits the holder of cert's key, read from the directory on every handshake as the
// supervisor's pin is.
func (f *Fixture) Pin(cert string) certs.ClientPin {
	path := f.PKI.Path(cert)
	return certs.ClientPin{CA: f.PKI.File(certs.ClientCACert), Cert: func() ([]byte, error) { return os.ReadFile(path) }}
}

// ServingPair is a kubelet serving certificate and key for 127.0.0.1.
func (f *Fixture) ServingPair(t *testing.T) ([]byte, []byte) {
	t.Helper()
	c, k, err := f.PKI.SignKubeletServingCert("vkube-vc", []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

// Call makes one HTTPS request to url presenting certPEM/keyPEM, with f's CA as the only root.
// A certificate pair that does not parse fails the test, so that it never passes for a refusal.
func (f *Fixture) Call(t *testing.T, method, url string, certPEM, keyPEM []byte) error {
	t.Helper()
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	return Call(method, url, f.PKI.File(certs.CACert), certPEM, keyPEM)
}

// Call makes one HTTPS request to url presenting certPEM/keyPEM, trusting the PEM bundle ca,
// and reports whether the TLS handshake (and with it the client authentication) succeeded: a
// 5xx counts as failed too.
func Call(method, url string, ca, certPEM, keyPEM []byte) error {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("client certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}}}
	req, err := http.NewRequest(method, url, strings.NewReader("{}"))
	if err != nil {
		return fmt.Errorf("request: %w", err)
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
