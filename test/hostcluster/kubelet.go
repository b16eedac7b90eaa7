package hostcluster

import (
	"fmt"

	"sigs.k8s.io/yaml"

	"vkube.io/vkube/certs"
)

func (c Config) kubeletConfig() ([]byte, error) {
	l := newLayout(c.Dir)
	conf := map[string]any{
		"apiVersion":         "kubelet.config.k8s.io/v1beta1",
		"kind":               "KubeletConfiguration",
		"address":            c.NodeIP,
		"port":               portKubelet,
		"readOnlyPort":       0,
		"healthzBindAddress": c.NodeIP,
		"healthzPort":        portKubeletHealthz,
		"authentication": map[string]any{
			"anonymous": map[string]any{"enabled": false},
			"webhook":   map[string]any{"enabled": true},
			"x509":      map[string]any{"clientCAFile": l.pkiPath(certs.ClientCACert)},
		},
		"authorization":            map[string]any{"mode": "Webhook"},
		"tlsCertFile":              l.etc("kubelet-server.crt"),
		"tlsPrivateKeyFile":        l.etc("kubelet-server.key"),
		"containerRuntimeEndpoint": "unix://" + l.containerdSocket(),
		// This machine has cgroup v1 and no systemd; containerd 1.6 cannot report its driver.
		"cgroupDriver":  "cgroupfs",
		"failCgroupV1":  false,
		"cgroupRoot":    "/" + c.cgroupRoot(),
		"failSwapOn":    false,
		"clusterDomain": "cluster.local",
		"clusterDNS":    []string{c.DNSServiceIP},
		"resolvConf":    "/etc/resolv.conf",
		// podLogsDir, not podLogsDirectory: the lenient decoder ignores unknown fields silently.
		"podLogsDir":          l.podLogs(),
		"registerNode":        true,
		"serializeImagePulls": false,
		"evictionHard": map[string]string{
			"memory.available":  "100Mi",
			"nodefs.available":  "2%",
			"imagefs.available": "2%",
			"nodefs.inodesFree": "2%",
		},
		// Test images exist only in containerd's store: a garbage-collected one cannot be pulled back.
		"imageGCHighThresholdPercent": 99,
		"imageGCLowThresholdPercent":  98,
	}
	data, err := yaml.Marshal(conf)
	if err != nil {
		return nil, fmt.Errorf("kubelet config: %w", err)
	}
	return data, nil
}

func (c Config) kubeletProc(b bins) proc {
	l := newLayout(c.Dir)
	return proc{name: "kubelet", path: b.kube("kubelet"), args: []string{
		"--config=" + l.etc("kubelet.yaml"),
		"--kubeconfig=" + l.etc("kubelet.kubeconfig"),
		"--root-dir=" + l.kubeletRoot(),
		"--cert-dir=" + l.path("kubelet-pki"),
		"--node-ip=" + c.NodeIP,
		"--hostname-override=" + c.NodeName,
		"--v=1",
	}}
}
