package certs

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"net"
)

// SignClientCert issues a client certificate for user in groups, signed by the client CA and
// valid for the bundle's leaf validity. It is not stored: the caller owns the returned PEM.
func (p *PKI) SignClientCert(user string, groups []string) (certPEM, keyPEM []byte, err error) {
	if user == "" {
		return nil, nil, fmt.Errorf("sign client certificate: user is empty")
	}
	s := subject{cn: user, orgs: groups, usages: clientAuth}
	certPEM, keyPEM, err = p.sign(clientCA, s, nil, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("sign client certificate for %q: %w", user, err)
	}
	return certPEM, keyPEM, nil
}

// SignKubeletServingCert issues a serving certificate for the kubelet of nodeName reachable at
// ips, signed by the server CA (what kube-apiserver --kubelet-certificate-authority trusts).
func (p *PKI) SignKubeletServingCert(nodeName string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
	if nodeName == "" {
		return nil, nil, fmt.Errorf("sign kubelet serving certificate: node name is empty")
	}
	s := subject{cn: "system:node:" + nodeName, orgs: []string{"system:nodes"}, usages: serverAuth}
	dns, sanIPs := splitSANs([]string{nodeName}, ips)
	certPEM, keyPEM, err = p.sign(serverCA, s, dns, sanIPs)
	if err != nil {
		return nil, nil, fmt.Errorf("sign kubelet serving certificate for node %q: %w", nodeName, err)
	}
	return certPEM, keyPEM, nil
}

func (p *PKI) sign(a authority, s subject, dns []string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
	ca, caKey, err := p.authority(a)
	if err != nil {
		return nil, nil, err
	}
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	c, err := signLeaf(s, dns, ips, key, ca, caKey, p.opts.Now(), p.opts.Validity)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCert(c), keyPEM, nil
}

func (p *PKI) authority(a authority) (*x509.Certificate, crypto.Signer, error) {
	c, err := parseCert(a.cert, p.files[a.cert])
	if err != nil {
		return nil, nil, err
	}
	key, err := parseKey(a.key, p.files[a.key])
	if err != nil {
		return nil, nil, err
	}
	return c, key, nil
}
