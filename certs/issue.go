package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"
)

func newCA(cn string, key crypto.Signer, now time.Time) (*x509.Certificate, error) {
	tmpl, err := template(subject{cn: cn}, now, caValidity)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	return create(tmpl, tmpl, key.Public(), key)
}

func signLeaf(s subject, dns []string, ips []net.IP, key crypto.Signer, ca *x509.Certificate, caKey crypto.Signer, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	tmpl, err := template(s, now, validity)
	if err != nil {
		return nil, err
	}
	tmpl.ExtKeyUsage = s.usages
	tmpl.DNSNames = dns
	tmpl.IPAddresses = ips
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	if _, ok := key.(*rsa.PrivateKey); ok {
		// Only RSA keys can do key transport; for ECDSA the bit would be meaningless.
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	return create(tmpl, ca, key.Public(), caKey)
}

func template(s subject, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return &x509.Certificate{
		// A zero serial is rejected by strict verifiers.
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{CommonName: s.cn, Organization: s.orgs},
		NotBefore:    now.Add(-backdate).UTC(),
		NotAfter:     now.Add(validity).UTC(),
	}, nil
}

func create(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return c, nil
}
