package hostcluster

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// writeConfigs writes the components' configuration files, leaving unchanged ones untouched.
func (c *Cluster) writeConfigs() error {
	cfg, l := c.cfg, newLayout(c.cfg.Dir)
	cni, err := cfg.cniConfig()
	if err != nil {
		return err
	}
	kubelet, err := cfg.kubeletConfig()
	if err != nil {
		return err
	}
	proxy, err := cfg.kubeProxyConfig()
	if err != nil {
		return err
	}
	files := map[string][]byte{
		l.etc("containerd.toml"):                             []byte(cfg.containerdConfig(c.bins)),
		filepath.Join(l.cniConf(), "10-vkube-host.conflist"): cni,
		l.etc("kubelet.yaml"):                                kubelet,
		l.etc("kube-proxy.yaml"):                             proxy,
		l.etc("Corefile"):                                    []byte(cfg.coreDNSConfig()),
	}
	for path, data := range files {
		// kube-proxy exits when its config file is written to, even with the same content.
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
			continue
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}
