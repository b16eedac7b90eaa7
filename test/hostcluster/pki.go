package hostcluster

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"vkube.io/vkube/certs"
)

// identity is a client of the apiserver beyond the bundle's own: user, groups, kubeconfig file.
type identity struct {
	user   string
	groups []string
	file   string
}

func (c Config) identities() []identity {
	return []identity{
		{"system:node:" + c.NodeName, []string{"system:nodes"}, "kubelet.kubeconfig"},
		{"system:kube-proxy", nil, "kube-proxy.kubeconfig"},
		// The harness's own helpers are not under test; cluster-admin keeps them free of RBAC setup.
		{"vkube-host-coredns", []string{"system:masters"}, "coredns.kubeconfig"},
		{"vkube-host-addons", []string{"system:masters"}, "addons.kubeconfig"},
	}
}

func (c Config) serverURL() string {
	return "https://" + net.JoinHostPort(c.NodeIP, strconv.Itoa(portAPIServer))
}

// ensurePKI issues (or loads) the cluster's certificates with the repo's certs package, then
// writes the kubeconfigs of every component and the kubelet's serving certificate.
func (c Config) ensurePKI(ctx context.Context) (*certs.PKI, error) {
	l := newLayout(c.Dir)
	nodeIP := net.ParseIP(c.NodeIP)
	opts := certs.Options{
		Name:         "host",
		IPs:          []net.IP{nodeIP, firstServiceIP(c.ServiceCIDR)},
		EtcdDNSNames: []string{c.NodeIP},
	}
	p, _, err := certs.Ensure(ctx, certs.NewDirStore(l.pki()), l.pki(), opts)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	server := c.serverURL()
	for path, id := range map[string]certs.Identity{
		l.kubeconfig():                         certs.Admin,
		l.etc("controller-manager.kubeconfig"): certs.ControllerManager,
		l.etc("scheduler.kubeconfig"):          certs.Scheduler,
	} {
		if err := p.WriteKubeconfig(path, server, id, "vkube-host"); err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
	}
	// Freshly signed on every call, so written only when missing: running components keep theirs.
	for _, id := range c.identities() {
		path := l.etc(id.file)
		if exists(path) {
			continue
		}
		certPEM, keyPEM, err := p.SignClientCert(id.user, id.groups)
		if err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
		kc, err := p.KubeconfigForCert(server, "vkube-host", certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
		if err := os.WriteFile(path, kc, 0o600); err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
	}
	if !exists(l.etc("kubelet-server.crt")) {
		certPEM, keyPEM, err := p.SignKubeletServingCert(c.NodeName, []net.IP{nodeIP})
		if err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
		if err := os.WriteFile(l.etc("kubelet-server.key"), keyPEM, 0o600); err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
		if err := os.WriteFile(l.etc("kubelet-server.crt"), certPEM, 0o644); err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
	}
	return p, nil
}

// firstServiceIP is the ClusterIP of default/kubernetes, which pods reach the apiserver by.
func firstServiceIP(cidr string) net.IP {
	p := netip.MustParsePrefix(cidr).Masked()
	return net.IP(p.Addr().Next().AsSlice())
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// pkiPath is a file of the certs bundle.
func (l layout) pkiPath(name string) string { return filepath.Join(l.pki(), name) }
