// Host-side steps: what the supervisor reads and writes in the host cluster (nothing when
// standalone). The steps that need both clusters at once are in syncing.go.

package supervisor

import (
	"context"
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/hostside"
	"vkube.io/vkube/isolation"
	"vkube.io/vkube/names"
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
		return nil, fmt.Errorf("host client: %w", err)
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
