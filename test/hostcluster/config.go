package hostcluster

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
)

// Config says where the cluster keeps its state and which addresses it takes on this machine.
// Zero fields get the defaults of DefaultConfig.
type Config struct {
	// Dir holds all state: PKI, configs, logs, PID files, etcd, containerd, kubelet, volumes.
	Dir string `json:"dir"`
	// NodeIP is added as a /32 on lo; every component binds to it (kubelet refuses loopback).
	NodeIP string `json:"nodeIP"`
	// NodeName is the name of the one Node.
	NodeName string `json:"nodeName"`
	// KubeVersion selects the Kubernetes binaries from the vkube cache.
	KubeVersion string `json:"kubeVersion"`
	// PodCIDR is the bridge network pods get their addresses from.
	PodCIDR string `json:"podCIDR"`
	// ServiceCIDR is kube-apiserver's --service-cluster-ip-range.
	ServiceCIDR string `json:"serviceCIDR"`
	// DNSServiceIP is the ClusterIP of kube-system/kube-dns and kubelet's clusterDNS.
	DNSServiceIP string `json:"dnsServiceIP"`
	// LoadBalancerCIDR is the pool LoadBalancer Services get their ingress IPs from.
	LoadBalancerCIDR string `json:"loadBalancerCIDR"`
	// Bridge is the name of the CNI bridge.
	Bridge string `json:"bridge"`
	// Log receives progress lines; nil discards them.
	Log io.Writer `json:"-"`
}

// DefaultConfig is the configuration of `make host-up` for dir.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:              dir,
		NodeIP:           "172.31.250.1",
		NodeName:         "host-node",
		KubeVersion:      "v1.34.2",
		PodCIDR:          "10.244.0.0/24",
		ServiceCIDR:      "10.96.0.0/16",
		DNSServiceIP:     "10.96.0.10",
		LoadBalancerCIDR: "172.31.250.64/27",
		Bridge:           "vkhost0",
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig(c.Dir)
	for _, f := range []struct{ v, def *string }{
		{&c.NodeIP, &d.NodeIP}, {&c.NodeName, &d.NodeName}, {&c.KubeVersion, &d.KubeVersion},
		{&c.PodCIDR, &d.PodCIDR}, {&c.ServiceCIDR, &d.ServiceCIDR}, {&c.DNSServiceIP, &d.DNSServiceIP},
		{&c.LoadBalancerCIDR, &d.LoadBalancerCIDR}, {&c.Bridge, &d.Bridge},
	} {
		if *f.v == "" {
			*f.v = *f.def
		}
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// unixPathMax is sun_path: containerd's socket lives under Dir, so Dir cannot be arbitrarily deep.
const unixPathMax = 108

func (c Config) validate() error {
	if c.Dir == "" || !filepath.IsAbs(c.Dir) {
		return fmt.Errorf("config: dir %q must be an absolute path", c.Dir)
	}
	if n := len(newLayout(c.Dir).containerdSocket()); n >= unixPathMax {
		return fmt.Errorf("config: dir %q is too long: containerd's socket path would be %d bytes, the limit is %d", c.Dir, n, unixPathMax-1)
	}
	ip := net.ParseIP(c.NodeIP)
	if ip == nil || ip.To4() == nil || ip.IsLoopback() {
		return fmt.Errorf("config: nodeIP %q must be an IPv4 address outside 127.0.0.0/8 (kubelet refuses loopback node IPs)", c.NodeIP)
	}
	for name, cidr := range map[string]string{"podCIDR": c.PodCIDR, "serviceCIDR": c.ServiceCIDR, "loadBalancerCIDR": c.LoadBalancerCIDR} {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			return fmt.Errorf("config: %s %q: %w", name, cidr, err)
		}
	}
	svc := netip.MustParsePrefix(c.ServiceCIDR)
	dns, err := netip.ParseAddr(c.DNSServiceIP)
	if err != nil || !svc.Contains(dns) {
		return fmt.Errorf("config: dnsServiceIP %q must be an address in serviceCIDR %s", c.DNSServiceIP, c.ServiceCIDR)
	}
	if len(c.Bridge) > 15 {
		return fmt.Errorf("config: bridge %q is longer than the 15 characters of a Linux interface name", c.Bridge)
	}
	return nil
}

// save records the configuration in Dir so that Open and Down find the same addresses later.
func (c Config) save() error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := os.WriteFile(newLayout(c.Dir).configFile(), data, 0o644); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

// loadConfig reads the configuration Up saved in dir; ok is false when dir holds no cluster.
func loadConfig(dir string) (c Config, ok bool, err error) {
	data, err := os.ReadFile(newLayout(dir).configFile())
	if os.IsNotExist(err) {
		return Config{}, false, nil
	}
	if err != nil {
		return Config{}, false, fmt.Errorf("load config of %s: %w", dir, err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, false, fmt.Errorf("load config of %s: %w", dir, err)
	}
	c.Dir = dir
	return c.withDefaults(), true, nil
}
