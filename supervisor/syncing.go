package supervisor

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/clusterdns"
	"vkube.io/vkube/config"
	"vkube.io/vkube/distro"
	"vkube.io/vkube/hostside"
	"vkube.io/vkube/kubeletproxy"
	"vkube.io/vkube/syncer"
)

// listenWebhook opens the Service webhook's listener before the API server starts: its
// admission configuration must name the webhook's address.
func (s *Supervisor) listenWebhook(dopts *distro.Options) error {
	if s.host == nil {
		return nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.opts.WebhookPort)))
	if err != nil {
		return fmt.Errorf("--webhook-port %d: the Service webhook cannot listen on loopback: %w (give a free port, or 0 for any)", s.opts.WebhookPort, err)
	}
	s.webhookListener = l
	// Closed already when the webhook served it; closing again only errs.
	s.stops.push(func(context.Context) error { _ = l.Close(); return nil })
	dopts.WebhookAddress = l.Addr().String()
	return nil
}

// serveAcrossClusters runs what needs both clusters, ahead of the syncer: the kubelet endpoint,
// the Service webhook, the virtual kubernetes Service and the DNS server of synced pods, and
// returns the syncer's configuration, which names them.
func (s *Supervisor) serveAcrossClusters(ctx context.Context, pki *certs.PKI, virtual *rest.Config) (syncer.Config, error) {
	h, o := s.host, s.opts
	log := o.Logger
	vcs, err := kubernetes.NewForConfig(virtual)
	if err != nil {
		return syncer.Config{}, fmt.Errorf("virtual client: %w", err)
	}
	kubeletSvc := h.kubeletService(ctx, &o)
	sans := []net.IP{net.ParseIP(o.AdvertiseAddress), net.ParseIP("127.0.0.1")}
	if kubeletSvc != nil {
		sans = append(sans, net.ParseIP(kubeletSvc.Spec.ClusterIP))
	}
	certPEM, keyPEM, err := pki.SignKubeletServingCert("vkube-"+o.Config.Name, sans)
	if err != nil {
		return syncer.Config{}, fmt.Errorf("kubelet endpoint certificate: %w", err)
	}
	kaddr, err := kubeletproxy.Serve(ctx, kubeletproxy.Config{
		Listen: net.JoinHostPort(o.AdvertiseAddress, strconv.Itoa(o.KubeletPort)), ServingCert: certPEM, ServingKey: keyPEM,
		Client: pinnedClient(pki, certs.APIServerKubeletClientCert), Host: h.config, HostNamespace: h.namespace, VCluster: o.Config.Name, Logger: log,
	})
	if err != nil {
		return syncer.Config{}, fmt.Errorf("kubelet endpoint: %w", err)
	}
	hostAccess := o.Config.Policies.HostAccess
	if err := syncer.ServeServiceWebhook(ctx, syncer.WebhookConfig{
		Listener: s.webhookListener, ServingCert: certPEM, ServingKey: keyPEM, CABundle: pki.File(certs.CACert),
		Client:  pinnedClient(pki, certs.APIServerWebhookClientCert),
		Virtual: vcs, Host: h.client, HostNamespace: h.namespace, VCluster: o.Config.Name, Logger: log,
		ExternalIPCIDRs: hostAccess.ExternalIPCIDRs,
	}); err != nil {
		return syncer.Config{}, fmt.Errorf("Service webhook: %w", err)
	}
	// The virtual kubernetes Service's endpoint is the host API Service, which routes to a ready
	// replica: every replica writes the same one, and it holds while any one replica is dead.
	if err := syncer.EnsureKubernetesService(ctx, vcs, h.apiIP, h.apiIP, 443); err != nil {
		return syncer.Config{}, fmt.Errorf("virtual kubernetes Service: %w", err)
	}
	domain := o.Config.ClusterDomain()
	daddr, err := clusterdns.Serve(ctx, clusterdns.Config{Listen: net.JoinHostPort(o.AdvertiseAddress, strconv.Itoa(o.DNSPort)), ClusterDomain: domain,
		Upstream: upstreamDNS(), Kubeconfig: s.Kubeconfig, Logger: log})
	if err != nil {
		return syncer.Config{}, fmt.Errorf("DNS server: %w", err)
	}
	dport, _ := strconv.Atoi(portOf(daddr))
	dnsIP, err := hostside.EnsureDNSService(ctx, h.client, h.namespace, o.Config.Name, o.AdvertiseAddress, dport)
	if err != nil {
		return syncer.Config{}, fmt.Errorf("host DNS Service: %w", err)
	}
	kport, _ := strconv.Atoi(portOf(kaddr))
	kubeletAddress := o.AdvertiseAddress
	if kubeletSvc != nil {
		kubeletAddress, kport = kubeletSvc.Spec.ClusterIP, int(kubeletSvc.Spec.Ports[0].Port)
	}
	var fromHost, toHost []syncer.ServiceMapping
	for _, m := range o.Config.Networking.ReplicateServices.FromHost {
		fromHost = append(fromHost, syncer.ServiceMapping{From: m.From, To: m.To})
	}
	for _, m := range o.Config.Networking.ReplicateServices.ToHost {
		toHost = append(toHost, syncer.ServiceMapping{From: m.From, To: m.To})
	}
	sc := syncer.Config{
		ReplicateFromHost: fromHost, ReplicateToHost: toHost,
		ExternalIPCIDRs: hostAccess.ExternalIPCIDRs, EndpointCIDRs: hostAccess.EndpointCIDRs,
		HostServiceCIDR: o.Config.ControlPlane.Advanced.ServiceCIDR, NodeIPs: h.ownNodeIPs(ctx, &o),
		PodSecurityStandard:  o.Config.Policies.PodSecurityStandard,
		RealNodes:            o.Config.Sync.FromHost.Nodes.Enabled,
		NodeSelector:         nodeSelector(o.Config.Sync.FromHost.Nodes),
		VirtualScheduler:     o.Config.VirtualSchedulerEnabled(),
		Ingresses:            o.Config.Sync.ToHost.Ingresses.On(false),
		NetworkPolicies:      o.Config.Sync.ToHost.NetworkPolicies.On(false),
		PodDisruptionBudgets: o.Config.Sync.ToHost.PodDisruptionBudgets.On(false),
		PriorityClasses:      o.Config.Sync.ToHost.PriorityClasses.On(false),
		StorageClasses:       o.Config.Sync.ToHost.StorageClasses.On(false),
		PersistentVolumes:    o.Config.Sync.ToHost.PersistentVolumes.On(false),
		HostStorageClasses:   o.Config.Sync.FromHost.StorageClasses.On(false),
		Name:                 o.Config.Name, HostNamespace: h.namespace, Virtual: virtual, Host: h.config,
		VirtualCA: pki.File(certs.CACert), ServiceAccountKey: pki.File(certs.SAKey), TokenSecrets: o.Config.Sync.ToHost.Pods.UseSecretsForSATokens, APIHost: h.apiIP, APIPort: 443,
		KubeletAddress: kubeletAddress, KubeletPort: kport, DNSServer: dnsIP, ClusterDomain: domain, Logger: log,
	}
	// What the host admin lets tenants' pods, priority classes and volumes do on the host.
	sc.HostPodSecurityStandard = o.Config.Policies.HostAccess.PodSecurityStandard
	sc.MaxPriorityClassValue = o.Config.Policies.HostAccess.PriorityClassCeiling()
	sc.HostPathVolumes = o.Config.Policies.HostAccess.HostPathVolumes
	sc.HostQPS, sc.HostBurst = o.Config.Policies.HostAccess.APIRequests.QPS, o.Config.Policies.HostAccess.APIRequests.Burst
	sc.PodWorkers, sc.OtherWorkers = o.Config.Sync.Workers.Pods, o.Config.Sync.Workers.Others
	sc.HostsImage = o.Config.Sync.ToHost.RewriteHostsImage
	return sc, nil
}

// startSyncer runs the syncer: here and now with one replica; with more, on whichever replica
// holds the host Lease, and then nil is returned.
func (s *Supervisor) startSyncer(ctx context.Context, sc syncer.Config) (*syncer.Syncer, error) {
	// Whichever syncer runs at Stop, this one or a later Lease holder's, is stopped first.
	s.stops.push(s.stopSyncer)
	if s.opts.Config.Replicas() > 1 {
		return nil, s.syncWhileLeading(ctx, sc)
	}
	sy, err := syncer.Start(ctx, sc)
	if err != nil {
		return nil, err
	}
	s.setSyncer(sy)
	return sy, nil
}

func (s *Supervisor) setSyncer(sy *syncer.Syncer) {
	s.mu.Lock()
	s.syncer = sy
	s.mu.Unlock()
}

func (s *Supervisor) stopSyncer(ctx context.Context) error {
	s.mu.Lock()
	sy := s.syncer
	s.mu.Unlock()
	if sy == nil {
		return nil
	}
	return sy.Stop(ctx)
}

// pinnedClient admits the API server's own certificate cert (its key, which renewal keeps),
// read from the PKI directory that renewal rewrites: the client CA alone is not enough, as the
// controller manager signs tenants' CSRs with it.
func pinnedClient(pki *certs.PKI, cert string) certs.ClientPin {
	path := pki.Path(cert)
	return certs.ClientPin{CA: pki.File(certs.ClientCACert), Cert: func() ([]byte, error) { return os.ReadFile(path) }}
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// upstreamDNS is the first nameserver of this machine's (or pod's) resolv.conf: in a pod, the
// host cluster's DNS.
func upstreamDNS() string {
	data, err := os.ReadFile("/etc/resolv.conf")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
				return net.JoinHostPort(f[1], "53")
			}
		}
	}
	return "127.0.0.1:53"
}

// nodeSelector is the host nodes to mirror: all with syncAll, else those matching the selector.
func nodeSelector(n config.NodeSync) map[string]string {
	if n.SyncAll {
		return nil
	}
	return n.Selector
}
