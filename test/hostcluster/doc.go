// Package hostcluster runs a real single-node Kubernetes cluster on this machine for the
// end-to-end tests: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet with
// containerd and runc, kube-proxy in iptables mode, a bridge CNI network, CoreDNS, a hostPath
// volume provisioner and a LoadBalancer address allocator. Every process is detached, so a
// cluster brought up by `make host-up` outlives the command; all state lives under Config.Dir,
// and Down removes every trace of it from the machine.
//
// It needs root, the Debian packages of hack/host-deps.sh and the binaries of
// hack/kube-binaries.sh, hack/etcd-server.sh and hack/coredns.sh; CheckPrerequisites says
// which are missing and how to get them.
package hostcluster
