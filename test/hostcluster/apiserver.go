package hostcluster

import (
	"strconv"

	"vkube.io/vkube/certs"
)

func (c Config) apiserverProc(b bins) proc {
	l := newLayout(c.Dir)
	p := l.pkiPath
	return proc{name: "kube-apiserver", path: b.kube("kube-apiserver"), args: []string{
		"--etcd-servers=" + c.etcdClientURL(),
		"--etcd-cafile=" + p(certs.EtcdCACert),
		"--etcd-certfile=" + p(certs.APIServerEtcdClientCert),
		"--etcd-keyfile=" + p(certs.APIServerEtcdClientKey),
		"--bind-address=" + c.NodeIP,
		"--advertise-address=" + c.NodeIP,
		"--secure-port=" + strconv.Itoa(portAPIServer),
		"--tls-cert-file=" + p(certs.APIServerCert),
		"--tls-private-key-file=" + p(certs.APIServerKey),
		"--client-ca-file=" + p(certs.ClientCACert),
		"--service-account-key-file=" + p(certs.SAPub),
		"--service-account-signing-key-file=" + p(certs.SAKey),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=" + c.ServiceCIDR,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--kubelet-client-certificate=" + p(certs.APIServerKubeletClientCert),
		"--kubelet-client-key=" + p(certs.APIServerKubeletClientKey),
		// The node's Hostname address is this machine's name, which resolves to loopback.
		"--kubelet-preferred-address-types=InternalIP,Hostname",
		"--requestheader-client-ca-file=" + p(certs.FrontProxyCACert),
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + p(certs.FrontProxyClientCert),
		"--proxy-client-key-file=" + p(certs.FrontProxyClientKey),
		"--enable-aggregator-routing=true",
		"--cert-dir=" + l.path("apiserver"),
		"--profiling=false",
	}}
}
