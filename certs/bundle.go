package certs

import (
	"crypto/x509"
	"net"
)

// authority is one CA of the bundle.
type authority struct {
	cert, key string
	cn        string
}

var (
	serverCA     = authority{CACert, CAKey, "vkube-server-ca"}
	clientCA     = authority{ClientCACert, ClientCAKey, "vkube-client-ca"}
	frontProxyCA = authority{FrontProxyCACert, FrontProxyCAKey, "vkube-front-proxy-ca"}
	etcdCA       = authority{EtcdCACert, EtcdCAKey, "vkube-etcd-ca"}

	authorities = []authority{serverCA, clientCA, frontProxyCA, etcdCA}
)

// leaf is one certificate of the bundle signed by one of the authorities.
type leaf struct {
	cert, key string
	ca        authority
	subject   subject
	// sans is nil for client certificates.
	sans func(Options) ([]string, []net.IP)
}

// subject is what a certificate is issued for, independent of key and validity.
type subject struct {
	cn     string
	orgs   []string
	usages []x509.ExtKeyUsage
}

var (
	serverAuth       = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	clientAuth       = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	serverClientAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
)

var leaves = []leaf{
	{APIServerCert, APIServerKey, serverCA, subject{"kube-apiserver", nil, serverAuth}, apiServerSANs},
	{APIServerKubeletClientCert, APIServerKubeletClientKey, clientCA,
		subject{"kube-apiserver-kubelet-client", []string{"system:masters"}, clientAuth}, nil},
	// The endpoints vkube serves the API server (kubelet, webhook) pin these certificates'
	// keys: the controller manager signs CSRs with the client CA, so the CA alone proves nothing.
	{APIServerWebhookClientCert, APIServerWebhookClientKey, clientCA, subject{"kube-apiserver-webhook-client", nil, clientAuth}, nil},
	{APIServerEtcdClientCert, APIServerEtcdClientKey, etcdCA, subject{"kube-apiserver-etcd-client", nil, clientAuth}, nil},
	{FrontProxyClientCert, FrontProxyClientKey, frontProxyCA, subject{"front-proxy-client", nil, clientAuth}, nil},
	// etcd uses its serving and peer certificates as clients too (peer dialing, gRPC gateway).
	{EtcdServerCert, EtcdServerKey, etcdCA, subject{"etcd-server", nil, serverClientAuth}, etcdSANs},
	{EtcdPeerCert, EtcdPeerKey, etcdCA, subject{"etcd-peer", nil, serverClientAuth}, etcdSANs},
	{AdminCert, AdminKey, clientCA, subject{"kubernetes-admin", []string{"system:masters"}, clientAuth}, nil},
	{ControllerManagerCert, ControllerManagerKey, clientCA, subject{"system:kube-controller-manager", nil, clientAuth}, nil},
	{SchedulerCert, SchedulerKey, clientCA, subject{"system:kube-scheduler", nil, clientAuth}, nil},
}

func leafFor(id Identity) (leaf, bool) {
	for _, l := range leaves {
		if l.cert == id.CertFile() && l.sans == nil {
			return l, true
		}
	}
	return leaf{}, false
}
