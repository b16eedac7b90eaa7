package hostcluster

import (
	"encoding/json"
	"fmt"
	"net/netip"
)

// cniNetwork is the network's name; the CNI result cache outside Dir is keyed by it.
const cniNetwork = "vkube-host"

// cniConfig is one bridge network: pods get addresses from PodCIDR, the bridge is their gateway.
func (c Config) cniConfig() ([]byte, error) {
	prefix := netip.MustParsePrefix(c.PodCIDR).Masked()
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       cniNetwork,
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      c.Bridge,
				"isGateway":   true,
				"ipMasq":      false,
				"hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": newLayout(c.Dir).cniIPAM(),
					"ranges":  [][]map[string]string{{{"subnet": prefix.String(), "gateway": prefix.Addr().Next().String()}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
			map[string]any{"type": "loopback"},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cni config: %w", err)
	}
	return data, nil
}
