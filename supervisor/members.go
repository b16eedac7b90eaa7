package supervisor

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/names"
)

// etcdMembers makes this replica's embedded etcd one member of the cluster all Peers form.
func etcdMembers(o Options, e *backend.EmbeddedEtcdConfig) error {
	var self *Peer
	for i := range o.Peers {
		if o.Peers[i].Name == o.MemberName {
			self = &o.Peers[i]
		}
	}
	if self == nil {
		return fmt.Errorf("--member-name %q is not among the --peer names: give every replica, this one included", o.MemberName)
	}
	e.Name = o.MemberName
	e.ListenHost = o.BindAddress
	e.AdvertiseHost = self.Host
	e.ClientPort, e.PeerPort = etcdClientPort, etcdPeerPort
	for _, p := range o.Peers {
		e.Peers = append(e.Peers, backend.EtcdPeer{
			Name:      p.Name,
			PeerURL:   "https://" + net.JoinHostPort(p.Host, strconv.Itoa(etcdPeerPort)),
			ClientURL: "https://" + net.JoinHostPort(p.Host, strconv.Itoa(etcdClientPort)),
		})
	}
	return nil
}

// peerSANs are the names replicas reach each other's etcd by: every peer host, and in a host
// cluster the headless Service's wildcard, so that scaling up needs no new certificate.
func peerSANs(o Options) []string {
	var sans []string
	for _, p := range o.Peers {
		sans = append(sans, p.Host)
	}
	if o.Namespace != "" && len(o.Peers) > 0 {
		headless := names.HeadlessService(o.Config.Name) + "." + o.Namespace + ".svc"
		sans = append(sans, "*."+headless, "*."+headless+"."+o.Config.ClusterDomain())
	}
	return sans
}

// leaveIfScaledDown removes this replica's etcd member when the StatefulSet no longer counts it
// (scale-down kills the highest ordinals): members that just vanish would cost the rest their
// quorum, and 3 → 1 would stop the cluster.
func (s *Supervisor) leaveIfScaledDown(ctx context.Context, be backend.Backend) {
	o := s.opts
	leaver, ok := be.(backend.MemberRemover)
	if !ok || len(o.Peers) < 2 || s.host == nil {
		return
	}
	i := strings.LastIndex(o.MemberName, "-")
	ordinal, err := strconv.Atoi(o.MemberName[i+1:])
	if i < 0 || err != nil {
		return
	}
	sts, err := s.host.client.AppsV1().StatefulSets(s.host.namespace).Get(ctx, o.Config.Name, metav1.GetOptions{})
	if err != nil || sts.Spec.Replicas == nil || int(*sts.Spec.Replicas) > ordinal || *sts.Spec.Replicas == 0 {
		// Still counted, or the whole cluster is pausing (0): keep the membership for the return.
		return
	}
	o.Logger.Info("scaled down: leaving the etcd cluster", "member", o.MemberName, "replicas", *sts.Spec.Replicas)
	if err := leaver.RemoveSelf(ctx); err != nil {
		o.Logger.Warn("leaving the etcd cluster", "member", o.MemberName, "error", err)
	}
}
