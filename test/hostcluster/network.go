package hostcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const ipForward = "/proc/sys/net/ipv4/ip_forward"

// ensureNetwork gives the host what the node needs before any component starts: the node IP on
// lo, forwarding, and the CNI bridge (the bridge plugin adopts an existing one) with the Service
// range and the LoadBalancer pool routed to it, so the host reaches ClusterIPs and LoadBalancer
// IPs through kube-proxy's rules even on a machine without a default route.
func (c Config) ensureNetwork(ctx context.Context) error {
	l := newLayout(c.Dir)
	addrs, err := command(ctx, "ip", "-4", "-o", "addr", "show", "dev", "lo")
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	if !strings.Contains(addrs, " "+c.NodeIP+"/32 ") {
		if _, err := command(ctx, "ip", "addr", "add", c.NodeIP+"/32", "dev", "lo"); err != nil {
			return fmt.Errorf("network: node IP: %w", err)
		}
	}
	if err := setSysctl(ipForward, "1", l.run("ip_forward.orig")); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	if !exists(filepath.Join("/sys/class/net", c.Bridge)) {
		if _, err := command(ctx, "ip", "link", "add", c.Bridge, "type", "bridge"); err != nil {
			return fmt.Errorf("network: bridge: %w", err)
		}
	}
	if _, err := command(ctx, "ip", "link", "set", c.Bridge, "up"); err != nil {
		return fmt.Errorf("network: bridge: %w", err)
	}
	for _, cidr := range []string{c.ServiceCIDR, c.LoadBalancerCIDR} {
		if _, err := command(ctx, "ip", "route", "replace", cidr, "dev", c.Bridge); err != nil {
			return fmt.Errorf("network: route %s: %w", cidr, err)
		}
	}
	return nil
}

// setSysctl writes value, first saving the machine's own value to orig unless one is saved.
func setSysctl(path, value, orig string) error {
	cur, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if !exists(orig) {
		if err := os.WriteFile(orig, cur, 0o644); err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
	}
	if strings.TrimSpace(string(cur)) == value {
		return nil
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// removeNetwork undoes ensureNetwork and what the bridge plugin added (veths, addresses).
func (c Config) removeNetwork(ctx context.Context) error {
	l := newLayout(c.Dir)
	var errs []error
	ports, _ := os.ReadDir(filepath.Join("/sys/class/net", c.Bridge, "brif"))
	for _, p := range ports {
		// A veth whose pod namespace is already gone has vanished on its own meanwhile.
		if _, err := command(ctx, "ip", "link", "del", p.Name()); err != nil && exists(filepath.Join("/sys/class/net", p.Name())) {
			errs = append(errs, err)
		}
	}
	if exists(filepath.Join("/sys/class/net", c.Bridge)) {
		if _, err := command(ctx, "ip", "link", "del", c.Bridge); err != nil {
			errs = append(errs, err)
		}
	}
	if addrs, err := command(ctx, "ip", "-4", "-o", "addr", "show", "dev", "lo"); err == nil && strings.Contains(addrs, " "+c.NodeIP+"/32 ") {
		if _, err := command(ctx, "ip", "addr", "del", c.NodeIP+"/32", "dev", "lo"); err != nil {
			errs = append(errs, err)
		}
	}
	if orig, err := os.ReadFile(l.run("ip_forward.orig")); err == nil {
		if err := os.WriteFile(ipForward, orig, 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restore %s: %w", ipForward, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	return nil
}
