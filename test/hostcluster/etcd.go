package hostcluster

import (
	"net"
	"strconv"

	"vkube.io/vkube/certs"
)

func (c Config) etcdClientURL() string {
	return "https://" + net.JoinHostPort(c.NodeIP, strconv.Itoa(portEtcdClient))
}

func (c Config) etcdProc(b bins) proc {
	l := newLayout(c.Dir)
	peer := "http://" + net.JoinHostPort(c.NodeIP, strconv.Itoa(portEtcdPeer))
	args := []string{
		"--name=host",
		"--data-dir=" + l.etcdData(),
		"--listen-client-urls=" + c.etcdClientURL(),
		"--advertise-client-urls=" + c.etcdClientURL(),
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=host=" + peer,
		"--cert-file=" + l.pkiPath(certs.EtcdServerCert),
		"--key-file=" + l.pkiPath(certs.EtcdServerKey),
		"--trusted-ca-file=" + l.pkiPath(certs.EtcdCACert),
		"--client-cert-auth",
	}
	if modernEtcd(b.etcd) {
		// A throwaway test cluster: durability is not worth the disk flushes on a shared machine.
		args = append(args, "--unsafe-no-fsync")
	}
	return proc{name: "etcd", path: b.etcd, args: args}
}
