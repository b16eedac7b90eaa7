package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// The endpoints vkube serves the virtual API server (the kubelet endpoint of its fake nodes, the
// Service webhook) listen where local users, and with --bind-address a pod network, can reach
// them. A certificate signed by the client CA is not enough to prove the caller is the API
// server: kube-controller-manager signs approved CSRs with that CA, and a tenant who is
// cluster-admin can get any common name through a CSR. So the caller must present a certificate
// signed by the client CA whose public key is the one of the certificate vkube issued for that
// purpose. vkube keeps a leaf's key when it renews the certificate, so renewal keeps the pin.

// ClientPin is who may call an endpoint: CA is the PEM bundle the client certificate must chain
// to; Cert returns the PEM certificate whose public key the client must hold. Cert is read on
// every handshake, so a certificate re-issued with a new key is picked up without a restart.
type ClientPin struct {
	CA   []byte
	Cert func() ([]byte, error)
}

// TLSConfig is a server TLS configuration that serves serving and requires a verified client
// certificate matching the pin.
func (p ClientPin) TLSConfig(serving tls.Certificate) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.CA) {
		return nil, errors.New("no client CA")
	}
	if p.Cert == nil {
		return nil, errors.New("no pinned client certificate")
	}
	return &tls.Config{
		Certificates: []tls.Certificate{serving},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
		// VerifyConnection runs after the chain was verified (and on resumed sessions too).
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no client certificate")
			}
			return p.check(cs.PeerCertificates[0])
		},
	}, nil
}

// check accepts a client certificate that holds the pinned public key.
func (p ClientPin) check(client *x509.Certificate) error {
	data, err := p.Cert()
	if err != nil {
		return fmt.Errorf("reading the pinned client certificate: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return errors.New("the pinned client certificate is not PEM")
	}
	pinned, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("the pinned client certificate: %w", err)
	}
	if !bytes.Equal(pinned.RawSubjectPublicKeyInfo, client.RawSubjectPublicKeyInfo) {
		return fmt.Errorf("client certificate %q is not the one vkube issued for this endpoint", client.Subject.CommonName)
	}
	return nil
}
