package isolation

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"

	"vkube.io/vkube/config"
)

// DatastoreEgress is what the control plane must reach of an external datastore: the addresses of
// the external database's host, or of every external etcd endpoint, as CIDRs for Apply's
// extraEgress. Names are resolved now; a unix socket needs nothing, and embedded datastores none.
func DatastoreEgress(ctx context.Context, cfg *config.Config) ([]string, error) {
	bs := cfg.ControlPlane.BackingStore
	var hosts []string
	switch {
	case bs.Database.External.Enabled:
		dsn, err := bs.Database.External.DSN()
		if err != nil {
			return nil, err
		}
		info, err := config.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("controlPlane.backingStore.database.external: the DSN %w", err)
		}
		// libpq's host= parameter may list several hosts (and socket directories).
		hosts = strings.Split(info.Host, ",")
	case bs.Etcd.External.Enabled:
		for _, ep := range strings.Split(bs.Etcd.External.Endpoint, ",") {
			if ep = strings.TrimSpace(ep); ep == "" {
				continue
			}
			u, err := url.Parse(ep)
			if err != nil || u.Hostname() == "" {
				return nil, fmt.Errorf("controlPlane.backingStore.etcd.external.endpoint: %q is not a URL such as https://etcd-0:2379", ep)
			}
			hosts = append(hosts, u.Host)
		}
	}
	var cidrs []string
	seen := map[string]bool{}
	for _, h := range hosts {
		ips, err := addressesOf(ctx, h)
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			if c, _ := asCIDR(ip); c != "" && !seen[c] {
				seen[c] = true
				cidrs = append(cidrs, c)
			}
		}
	}
	return cidrs, nil
}

// addressesOf a host[:port]: the IP itself, or what the name resolves to; nothing for a socket.
func addressesOf(ctx context.Context, hostPort string) ([]string, error) {
	h := strings.TrimSpace(hostPort)
	if h == "" || strings.HasPrefix(h, "/") {
		return nil, nil
	}
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if ip := net.ParseIP(h); ip != nil {
		return []string{ip.String()}, nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("resolving the datastore host %q for the control plane's NetworkPolicy: %w", h, err)
	}
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.IP.String())
	}
	return out, nil
}
