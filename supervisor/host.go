package supervisor

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/clusterdns"
	"vkube.io/vkube/config"
	"vkube.io/vkube/distro"
	"vkube.io/vkube/hostside"
	"vkube.io/vkube/isolation"
	"vkube.io/vkube/names"
	"vkube.io/vkube/syncer"
)

// hostCluster is the host a virtual cluster lives in (nil when standalone).
type hostCluster struct {
	config    *rest.Config
	client    kubernetes.Interface
	namespace string
	// apiIP is the ClusterIP of the host Service in front of the virtual API.
	apiIP string
}

// connectHost learns what the PKI and the apiserver need from the host, before either starts.
func connectHost(ctx context.Context, o *Options) (*hostCluster, error) {
	if o.HostKubeconfig == "" && !o.InCluster {
		return nil, nil
	}
	if o.Namespace == "" {
		return nil, fmt.Errorf("--host-namespace is required with --host-kubeconfig or --in-cluster: the namespace the virtual cluster lives in")
	}
	if ip := net.ParseIP(o.AdvertiseAddress); ip == nil || ip.IsLoopback() || ip.IsUnspecified() {
		return nil, fmt.Errorf("--advertise-address %q: host pods must reach the virtual API there; give an address of this machine that is not loopback", o.AdvertiseAddress)
	}
	cfg, err := hostConfig(o)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := client.CoreV1().Namespaces().Get(ctx, o.Namespace, metav1.GetOptions{}); err != nil {
		// A namespaced Role cannot read its namespace object; only a missing one is fatal.
		if _, lerr := client.CoreV1().Services(o.Namespace).List(ctx, metav1.ListOptions{Limit: 1}); lerr != nil {
			return nil, fmt.Errorf("host namespace %s: %w", o.Namespace, lerr)
		}
	}
	h := &hostCluster{config: cfg, client: client, namespace: o.Namespace}
	adv := o.Config.ControlPlane.Advanced
	if adv.ServiceCIDR == "" {
		cidr, err := hostside.ServiceCIDR(ctx, client, o.Namespace)
		if err != nil {
			return nil, err
		}
		o.Config.ControlPlane.Advanced.ServiceCIDR = cidr
		o.Logger.Info("detected the host service CIDR", "cidr", cidr)
	}
	h.apiIP, err = hostside.EnsureAPIService(ctx, client, o.Namespace, o.Config.Name, o.AdvertiseAddress, o.Port)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// hostConfig reaches the host: through a kubeconfig file, or as the pod's service account.
func hostConfig(o *Options) (*rest.Config, error) {
	if o.InCluster {
		if o.HostKubeconfig != "" {
			return nil, fmt.Errorf("--in-cluster and --host-kubeconfig both set: give the host one way")
		}
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("--in-cluster: %w (run vkube in a pod, or use --host-kubeconfig)", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.HostKubeconfig)
	if err != nil {
		return nil, fmt.Errorf("--host-kubeconfig: %w", err)
	}
	return cfg, nil
}

func (h *hostCluster) pkiStore(name string) certs.Store {
	return &hostside.SecretStore{Client: h.client, Namespace: h.namespace, Name: names.PKISecret(name), VCluster: name}
}

// publishKubeconfig writes Secret vc-NAME with an admin kubeconfig whose server is the API
// Service's DNS name, right for anyone reading it inside the host cluster.
func (h *hostCluster) publishKubeconfig(ctx context.Context, pki *certs.PKI, name, contextName, server string) error {
	if server == "" {
		server = "https://" + name + "." + h.namespace + ".svc:443"
	}
	kc, err := pki.Kubeconfig(server, certs.Admin, contextName)
	if err != nil {
		return err
	}
	return hostside.ApplySecret(ctx, h.client, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: names.KubeconfigSecret(name), Namespace: h.namespace, Labels: map[string]string{names.LabelCluster: name}},
		Data: map[string][]byte{
			"config": kc, "certificate-authority": pki.File(certs.CACert),
			"client-certificate": pki.File(certs.AdminCert), "client-key": pki.File(certs.AdminKey),
		},
	})
}

// startSyncing runs what needs both clusters: the kubelet endpoint, the Service webhook, the
// virtual kubernetes Service, and the syncer.
func (s *Supervisor) startSyncing(ctx context.Context, pki *certs.PKI, virtual *rest.Config) error {
	h, o := s.host, s.opts
	log := o.Logger
	vcs, err := kubernetes.NewForConfig(virtual)
	if err != nil {
		return err
	}
	kubeletSvc := h.kubeletService(ctx, &o)
	sans := []net.IP{net.ParseIP(o.AdvertiseAddress), net.ParseIP("127.0.0.1")}
	if kubeletSvc != nil {
		sans = append(sans, net.ParseIP(kubeletSvc.Spec.ClusterIP))
	}
	certPEM, keyPEM, err := pki.SignKubeletServingCert("vkube-"+o.Config.Name, sans)
	if err != nil {
		return fmt.Errorf("kubelet endpoint certificate: %w", err)
	}
	kaddr, err := syncer.ServeKubelet(ctx, syncer.KubeletConfig{
		Listen: net.JoinHostPort(o.AdvertiseAddress, strconv.Itoa(o.KubeletPort)), ServingCert: certPEM, ServingKey: keyPEM,
		Client: pinnedClient(pki, certs.APIServerKubeletClientCert), Host: h.config, HostNamespace: h.namespace, VCluster: o.Config.Name, Logger: log,
	})
	if err != nil {
		return err
	}
	hostAccess := o.Config.Policies.HostAccess
	if err := syncer.ServeServiceWebhook(ctx, syncer.WebhookConfig{
		Listener: s.webhookListener, ServingCert: certPEM, ServingKey: keyPEM, CABundle: pki.File(certs.CACert),
		Client:  pinnedClient(pki, certs.APIServerWebhookClientCert),
		Virtual: vcs, Host: h.client, HostNamespace: h.namespace, VCluster: o.Config.Name, Logger: log,
		ExternalIPCIDRs: hostAccess.ExternalIPCIDRs,
	}); err != nil {
		return err
	}
	// The virtual kubernetes Service's endpoint is the host API Service, which routes to a ready
	// replica: every replica writes the same one, and it holds while any one replica is dead.
	if err := syncer.EnsureKubernetesService(ctx, vcs, h.apiIP, h.apiIP, 443); err != nil {
		return err
	}
	domain := o.Config.ClusterDomain()
	daddr, err := clusterdns.Serve(ctx, clusterdns.Config{Listen: net.JoinHostPort(o.AdvertiseAddress, strconv.Itoa(o.DNSPort)), ClusterDomain: domain,
		Upstream: upstreamDNS(), Kubeconfig: s.Kubeconfig, Logger: log})
	if err != nil {
		return err
	}
	dport, _ := strconv.Atoi(portOf(daddr))
	dnsIP, err := hostside.EnsureDNSService(ctx, h.client, h.namespace, o.Config.Name, o.AdvertiseAddress, dport)
	if err != nil {
		return err
	}
	if err := h.isolate(ctx, &o); err != nil {
		return err
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
	if o.Config.Replicas() > 1 {
		return s.syncWhileLeading(ctx, sc)
	}
	sy, err := syncer.Start(ctx, sc)
	if err != nil {
		return err
	}
	s.setSyncer(sy)
	return nil
}

// kubeletService is the chart's NAME-kubelet Service when vkube runs in its pod and the Service
// targets this replica's kubelet port: the fake nodes then give its ClusterIP and port, which
// reach whichever replica is ready. Nil otherwise (standalone, or a chart before the Service),
// and the nodes give this replica's own address.
func (h *hostCluster) kubeletService(ctx context.Context, o *Options) *corev1.Service {
	if !o.InCluster || o.KubeletPort == 0 {
		return nil
	}
	name := names.KubeletService(o.Config.Name)
	svc, err := h.client.CoreV1().Services(h.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if !apierrors.IsNotFound(err) {
			o.Logger.Warn("reading the kubelet endpoint's Service; the fake nodes give this replica's address", "service", name, "error", err)
		}
		return nil
	}
	if svc.Labels[names.LabelCluster] != o.Config.Name || svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone ||
		len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.IntValue() != o.KubeletPort {
		o.Logger.Warn("the kubelet endpoint's Service is not the chart's; the fake nodes give this replica's address", "service", name)
		return nil
	}
	return svc
}

// ownNodeIPs are the addresses of the host node vkube runs on, which no tenant endpoint may
// point at: in a pod, its node's (read from the pod, named by --member-name as the chart does);
// otherwise the machine's address host pods reach vkube at.
func (h *hostCluster) ownNodeIPs(ctx context.Context, o *Options) []string {
	if !o.InCluster {
		return []string{o.AdvertiseAddress}
	}
	pod, err := h.client.CoreV1().Pods(h.namespace).Get(ctx, o.MemberName, metav1.GetOptions{})
	if err != nil {
		o.Logger.Warn("reading vkube's own pod for its node's address; endpoints are still checked against the nodes of synced pods", "pod", o.MemberName, "error", err)
		return nil
	}
	ips := []string{pod.Status.HostIP}
	for _, ip := range pod.Status.HostIPs {
		ips = append(ips, ip.IP)
	}
	return ips
}

// pinnedClient admits the API server's own certificate cert (its key, which renewal keeps),
// read from the PKI directory that renewal rewrites: the client CA alone is not enough, as the
// controller manager signs tenants' CSRs with it.
func pinnedClient(pki *certs.PKI, cert string) syncer.ClientPin {
	path := pki.Path(cert)
	return syncer.ClientPin{CA: pki.File(certs.ClientCACert), Cert: func() ([]byte, error) { return os.ReadFile(path) }}
}

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
	dopts.WebhookAddress = l.Addr().String()
	return nil
}

func (s *Supervisor) setSyncer(sy interface{ Stop(context.Context) error }) {
	s.mu.Lock()
	s.syncer = sy
	s.mu.Unlock()
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

// isolate makes the host namespace hold the isolation objects the policies ask for, and removes
// vkube's own ones they no longer ask for. It runs once before any pod is synced (the quota needs
// the LimitRange in place first), and again once the DNS Service exists: the workloads'
// NetworkPolicy lets them reach the control plane's endpoints, DNS's among them.
//
// In a pod (--in-cluster) vkube is what those objects constrain: the installer (the chart, vkube
// create) writes them and the pod's Role may only read them, so it checks them and warns of any
// missing or changed. A standalone vkube (--host-kubeconfig, the host admin's own credentials)
// applies them itself.
func (h *hostCluster) isolate(ctx context.Context, o *Options) error {
	if h == nil {
		return nil
	}
	p := o.Config.Policies
	if o.InCluster {
		want, err := isolation.Objects(h.namespace, o.Config.Name, isolation.InstallerPolicies(o.Config), isolation.InstallerEgress(o.Config), nil)
		if err != nil {
			return fmt.Errorf("isolation: %w", err)
		}
		if err := isolation.Check(ctx, h.client, want); err != nil {
			o.Logger.Warn("host isolation is not as configured", "namespace", h.namespace, "error", err)
		}
		return nil
	}
	var egress []string
	if p.NetworkPolicy.Enabled {
		var err error
		if egress, err = isolation.DatastoreEgress(ctx, o.Config); err != nil {
			o.Logger.Warn("the control plane's NetworkPolicy does not let it reach the datastore", "error", err)
		}
	}
	if err := isolation.Apply(ctx, h.client, h.namespace, o.Config.Name, p, egress); err != nil {
		return fmt.Errorf("isolation: %w", err)
	}
	if p.ResourceQuota.Enabled || p.LimitRange.Enabled || p.NetworkPolicy.Enabled {
		o.Logger.Info("host isolation in place", "namespace", h.namespace, "resourceQuota", p.ResourceQuota.Enabled,
			"limitRange", p.LimitRange.Enabled, "networkPolicy", p.NetworkPolicy.Enabled, "datastoreEgress", egress)
	}
	return nil
}

// enforcePodSecurity keeps every virtual namespace labelled with the Pod Security Standard, so
// the virtual apiserver refuses what violates it; the namespaces that exist are labelled before
// the virtual cluster reports ready.
func (s *Supervisor) enforcePodSecurity(ctx context.Context) error {
	level := s.opts.Config.Policies.PodSecurityStandard
	if level == "" {
		return nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		return err
	}
	vcs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := isolation.EnforcePSS(ctx, vcs, level); err != nil {
		return err
	}
	s.opts.Logger.Info("pod security standard enforced on virtual namespaces", "level", level)
	return nil
}
