package hostcluster

import (
	"fmt"
	"net"
	"strconv"

	"sigs.k8s.io/yaml"
)

func (c Config) kubeProxyConfig() ([]byte, error) {
	conf := map[string]any{
		"apiVersion":       "kubeproxy.config.k8s.io/v1alpha1",
		"kind":             "KubeProxyConfiguration",
		"mode":             "iptables",
		"clientConnection": map[string]any{"kubeconfig": newLayout(c.Dir).etc("kube-proxy.kubeconfig")},
		"hostnameOverride": c.NodeName,
		"bindAddress":      c.NodeIP,
		"clusterCIDR":      c.PodCIDR,
		// NodePorts only on the node IP, not on every address of this machine.
		"nodePortAddresses":  []string{c.NodeIP + "/32"},
		"metricsBindAddress": net.JoinHostPort(c.NodeIP, strconv.Itoa(portKubeProxyMetrics)),
		"healthzBindAddress": net.JoinHostPort(c.NodeIP, strconv.Itoa(portKubeProxyHealthz)),
		// Zero leaves the machine's conntrack table size alone.
		"conntrack": map[string]any{"maxPerCore": 0, "min": 0},
	}
	data, err := yaml.Marshal(conf)
	if err != nil {
		return nil, fmt.Errorf("kube-proxy config: %w", err)
	}
	return data, nil
}

func (c Config) kubeProxyProc(b bins) proc {
	return proc{name: "kube-proxy", path: b.kube("kube-proxy"), args: []string{
		"--config=" + newLayout(c.Dir).etc("kube-proxy.yaml"),
		"--v=1",
	}}
}
