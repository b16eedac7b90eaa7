package hostcluster

import (
	"strconv"

	"vkube.io/vkube/certs"
)

func (c Config) controllerManagerProc(b bins) proc {
	l := newLayout(c.Dir)
	kc := l.etc("controller-manager.kubeconfig")
	return proc{name: "kube-controller-manager", path: b.kube("kube-controller-manager"), args: []string{
		"--kubeconfig=" + kc,
		"--authentication-kubeconfig=" + kc,
		"--authorization-kubeconfig=" + kc,
		"--bind-address=" + c.NodeIP,
		"--secure-port=" + strconv.Itoa(portControllerMgr),
		"--leader-elect=false",
		"--service-account-private-key-file=" + l.pkiPath(certs.SAKey),
		"--root-ca-file=" + l.pkiPath(certs.CACert),
		"--cluster-signing-cert-file=" + l.pkiPath(certs.ClientCACert),
		"--cluster-signing-key-file=" + l.pkiPath(certs.ClientCAKey),
		"--use-service-account-credentials=true",
		"--service-cluster-ip-range=" + c.ServiceCIDR,
		"--cluster-name=vkube-host",
		// The default 20 QPS makes namespace deletion and ReplicaSets crawl in e2e suites.
		"--kube-api-qps=100",
		"--kube-api-burst=200",
		"--profiling=false",
	}}
}

func (c Config) schedulerProc(b bins) proc {
	kc := newLayout(c.Dir).etc("scheduler.kubeconfig")
	return proc{name: "kube-scheduler", path: b.kube("kube-scheduler"), args: []string{
		"--kubeconfig=" + kc,
		"--authentication-kubeconfig=" + kc,
		"--authorization-kubeconfig=" + kc,
		"--bind-address=" + c.NodeIP,
		"--secure-port=" + strconv.Itoa(portScheduler),
		"--leader-elect=false",
		"--profiling=false",
	}}
}
