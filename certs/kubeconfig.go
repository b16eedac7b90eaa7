package certs

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Kubeconfig renders a self-contained kubeconfig for one of the client identities against server
// (an https URL). contextName names the cluster, user and context; "" means the cluster's Name.
func (p *PKI) Kubeconfig(server string, id Identity, contextName string) ([]byte, error) {
	l, ok := leafFor(id)
	if !ok {
		return nil, fmt.Errorf("render kubeconfig: unknown identity %q", id)
	}
	if l.ca != clientCA {
		// kube-apiserver only trusts client certificates from --client-ca-file.
		return nil, fmt.Errorf("render kubeconfig: identity %q is signed by %s, not by the client CA", id, l.ca.cert)
	}
	return p.KubeconfigForCert(server, contextName, p.files[l.cert], p.files[l.key])
}

// KubeconfigForCert renders a self-contained kubeconfig using the given client certificate and
// key (e.g. from SignClientCert) against server, trusting the server CA.
func (p *PKI) KubeconfigForCert(server, contextName string, certPEM, keyPEM []byte) ([]byte, error) {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("render kubeconfig: server %q is not an https URL", server)
	}
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return nil, fmt.Errorf("render kubeconfig: client certificate or key is empty")
	}
	if contextName == "" {
		contextName = p.opts.Name
	}
	if contextName == "" {
		contextName = "vkube"
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{
		Server:                   server,
		CertificateAuthorityData: p.File(CACert),
	}
	cfg.AuthInfos[contextName] = &clientcmdapi.AuthInfo{
		ClientCertificateData: certPEM,
		ClientKeyData:         keyPEM,
	}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: contextName}
	cfg.CurrentContext = contextName
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("render kubeconfig: %w", err)
	}
	return data, nil
}

// WriteKubeconfig writes the kubeconfig of Kubeconfig to path with mode 0600.
func (p *PKI) WriteKubeconfig(path, server string, id Identity, contextName string) error {
	data, err := p.Kubeconfig(server, id, contextName)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return writeFileAtomic(path, data, 0o600)
}
