package certs

import (
	"os"
	"strings"
)

// File names of the bundle. They are flat so that they map 1:1 to the keys of a Kubernetes Secret.
const (
	// CACert is the server CA: it signs serving certificates (kube-apiserver, kubelets).
	CACert = "ca.crt"
	// CAKey is the server CA's private key.
	CAKey = "ca.key"
	// ClientCACert is the client CA: kube-apiserver --client-ca-file.
	ClientCACert = "client-ca.crt"
	// ClientCAKey is the client CA's private key.
	ClientCAKey = "client-ca.key"
	// FrontProxyCACert is the front-proxy CA: kube-apiserver --requestheader-client-ca-file.
	FrontProxyCACert = "front-proxy-ca.crt"
	// FrontProxyCAKey is the front-proxy CA's private key.
	FrontProxyCAKey = "front-proxy-ca.key"
	// EtcdCACert is the etcd CA: signs the etcd server, peer and client certificates.
	EtcdCACert = "etcd-ca.crt"
	// EtcdCAKey is the etcd CA's private key.
	EtcdCAKey = "etcd-ca.key"

	// APIServerCert is kube-apiserver's serving certificate.
	APIServerCert = "apiserver.crt"
	// APIServerKey is kube-apiserver's serving key.
	APIServerKey = "apiserver.key"
	// APIServerKubeletClientCert is kube-apiserver's client certificate towards kubelets.
	APIServerKubeletClientCert = "apiserver-kubelet-client.crt"
	// APIServerKubeletClientKey is the key of APIServerKubeletClientCert.
	APIServerKubeletClientKey = "apiserver-kubelet-client.key"
	// APIServerWebhookClientCert is kube-apiserver's client certificate towards vkube's own
	// admission webhook (in the admission config's kubeconfig; no groups, no rights in the API).
	APIServerWebhookClientCert = "apiserver-webhook-client.crt"
	// APIServerWebhookClientKey is the key of APIServerWebhookClientCert.
	APIServerWebhookClientKey = "apiserver-webhook-client.key"
	// APIServerEtcdClientCert is kube-apiserver's client certificate towards etcd.
	APIServerEtcdClientCert = "apiserver-etcd-client.crt"
	// APIServerEtcdClientKey is the key of APIServerEtcdClientCert.
	APIServerEtcdClientKey = "apiserver-etcd-client.key"
	// FrontProxyClientCert is kube-apiserver's client certificate towards aggregated API servers.
	FrontProxyClientCert = "front-proxy-client.crt"
	// FrontProxyClientKey is the key of FrontProxyClientCert.
	FrontProxyClientKey = "front-proxy-client.key"
	// EtcdServerCert is the etcd serving certificate.
	EtcdServerCert = "etcd-server.crt"
	// EtcdServerKey is the etcd serving key.
	EtcdServerKey = "etcd-server.key"
	// EtcdPeerCert is the etcd peer certificate.
	EtcdPeerCert = "etcd-peer.crt"
	// EtcdPeerKey is the etcd peer key.
	EtcdPeerKey = "etcd-peer.key"
	// AdminCert is the cluster-admin client certificate.
	AdminCert = "admin.crt"
	// AdminKey is the key of AdminCert.
	AdminKey = "admin.key"
	// ControllerManagerCert is kube-controller-manager's client certificate.
	ControllerManagerCert = "controller-manager.crt"
	// ControllerManagerKey is the key of ControllerManagerCert.
	ControllerManagerKey = "controller-manager.key"
	// SchedulerCert is kube-scheduler's client certificate.
	SchedulerCert = "scheduler.crt"
	// SchedulerKey is the key of SchedulerCert.
	SchedulerKey = "scheduler.key"

	// SAKey is the service-account signing key (ECDSA; RSA when an older vkube made it) (--service-account-signing-key-file).
	SAKey = "sa.key"
	// SAPub is the service-account public key (--service-account-key-file).
	SAPub = "sa.pub"
)

// FileNames lists every file Ensure produces, CAs first.
func FileNames() []string {
	names := make([]string, 0, 2*(len(authorities)+len(leaves))+2)
	for _, ca := range authorities {
		names = append(names, ca.cert, ca.key)
	}
	for _, l := range leaves {
		names = append(names, l.cert, l.key)
	}
	return append(names, SAKey, SAPub)
}

// fileMode keeps anything that is not known to be public owner-only, so a kubeconfig or a future
// secret stored next to the bundle is never world-readable by accident.
func fileMode(name string) os.FileMode {
	if strings.HasSuffix(name, ".crt") || strings.HasSuffix(name, ".pub") {
		return 0o644
	}
	return 0o600
}
