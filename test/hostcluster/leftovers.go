package hostcluster

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// Leftovers lists what of the cluster in dir is still on the machine: processes started from
// it, mounts under it, its cgroups, KUBE-/CNI- iptables chains, the NetworkPolicy agent's
// ipsets, its bridge and its node IP.
// Empty after a successful Down.
func Leftovers(ctx context.Context, dir string) ([]string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("leftovers: %w", err)
	}
	cfg, ok, err := loadConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("leftovers: %w", err)
	}
	if !ok {
		cfg = DefaultConfig(dir).withDefaults()
	}
	var left []string
	for _, pid := range processesUnder(dir) {
		left = append(left, "process "+describe(pid))
	}
	for _, m := range mountsUnder(dir) {
		left = append(left, "mount "+m)
	}
	for _, d := range cgroupDirs(cfg.cgroupRoot()) {
		if exists(d) {
			left = append(left, "cgroup "+d)
		}
	}
	chains, err := leftoverChains(ctx)
	if err != nil {
		return nil, fmt.Errorf("leftovers: %w", err)
	}
	for _, c := range chains {
		left = append(left, "chain "+c)
	}
	sets, err := leftoverIPSets(ctx)
	if err != nil {
		return nil, fmt.Errorf("leftovers: %w", err)
	}
	for _, s := range sets {
		left = append(left, "ipset "+s)
	}
	if exists(filepath.Join("/sys/class/net", cfg.Bridge)) {
		left = append(left, "bridge "+cfg.Bridge)
	}
	addrs, err := command(ctx, "ip", "-4", "-o", "addr", "show", "dev", "lo")
	if err != nil {
		return nil, fmt.Errorf("leftovers: %w", err)
	}
	if strings.Contains(addrs, " "+cfg.NodeIP+"/32 ") {
		left = append(left, "address "+cfg.NodeIP+" on lo")
	}
	return left, nil
}
