package certs

// Identity names a client certificate of the bundle; its value is the file name without extension.
type Identity string

// Client identities issued by Ensure.
const (
	// Admin is CN kubernetes-admin in system:masters, signed by the client CA.
	Admin Identity = "admin"
	// ControllerManager is CN system:kube-controller-manager, signed by the client CA.
	ControllerManager Identity = "controller-manager"
	// Scheduler is CN system:kube-scheduler, signed by the client CA.
	Scheduler Identity = "scheduler"
	// APIServerKubeletClient is CN kube-apiserver-kubelet-client in system:masters, signed by the client CA.
	APIServerKubeletClient Identity = "apiserver-kubelet-client"
	// APIServerWebhookClient is CN kube-apiserver-webhook-client, no groups, signed by the client CA.
	APIServerWebhookClient Identity = "apiserver-webhook-client"
	// FrontProxyClient is CN front-proxy-client, signed by the front-proxy CA.
	FrontProxyClient Identity = "front-proxy-client"
	// APIServerEtcdClient is CN kube-apiserver-etcd-client, signed by the etcd CA.
	APIServerEtcdClient Identity = "apiserver-etcd-client"
)

// CertFile returns the file name of the identity's certificate.
func (id Identity) CertFile() string { return string(id) + ".crt" }

// KeyFile returns the file name of the identity's private key.
func (id Identity) KeyFile() string { return string(id) + ".key" }
