// Package clusterdns is the DNS of a virtual cluster's pods: CoreDNS, embedded, with its
// kubernetes plugin reading the virtual API, so that every record the Kubernetes DNS-based
// service discovery specification defines (A/AAAA, SRV for named ports, ExternalName CNAMEs,
// headless Services with their pods' hostnames, pod A records, PTR, NXDOMAIN versus NODATA, UDP
// and TCP) is what CoreDNS gives in a real cluster, and every other name goes to the host's DNS.
package clusterdns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	// The plugins the Corefile uses; they register themselves.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
)

// Config configures the DNS server of one virtual cluster.
type Config struct {
	// Listen is host:port for UDP and TCP; port 0 picks one free for both (a host Service maps
	// port 53 to it, so vkube needs no privilege to bind 53).
	Listen        string
	ClusterDomain string
	// Upstream resolves every other name (the host's DNS), host:port.
	Upstream string
	// Kubeconfig reaches the virtual API server (a file: CoreDNS reads its credentials there,
	// never from its arguments).
	Kubeconfig string
	Logger     *slog.Logger
}

// directives are the plugins in the order CoreDNS chains them (its plugin.cfg order).
var directives = []string{"bind", "errors", "loadbalance", "cache", "kubernetes", "forward"}

var register = sync.OnceValue(func() error {
	dnsserver.Directives = directives
	caddy.Quiet, dnsserver.Quiet = true, true
	return dnsserver.Register()
})

// Serve starts the DNS server and returns the address it answers on (the same port for UDP and
// TCP). It stops when ctx ends.
func Serve(ctx context.Context, cfg Config) (net.Addr, error) {
	if err := register(); err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	host, port, err := freePort(cfg.Listen)
	if err != nil {
		return nil, err
	}
	instance, err := caddy.Start(caddy.CaddyfileInput{Filepath: "Corefile", Contents: []byte(Corefile(cfg, host, port)), ServerTypeName: "dns"})
	if err != nil {
		return nil, fmt.Errorf("dns: starting CoreDNS on %s: %w", net.JoinHostPort(host, strconv.Itoa(port)), err)
	}
	go func() {
		<-ctx.Done()
		if err := errors.Join(append(instance.ShutdownCallbacks(), instance.Stop())...); err != nil && cfg.Logger != nil {
			cfg.Logger.Warn("stopping the DNS server", "error", err)
		}
	}()
	return &net.UDPAddr{IP: net.ParseIP(host), Port: port}, nil
}

// Corefile is the CoreDNS configuration: kubeadm's default for the cluster domain, with a 5 s TTL
// for the cluster's records, which the cache keeps no longer, and two changes for the tenant
// boundary. Pod records only for pods that exist ("verified", where kubeadm keeps the older
// "insecure"). Reverse lookups answer for this cluster's own addresses only, without kubeadm's
// fallthrough to the host's DNS, which would name any host Service or pod by its IP, another
// tenant's twins included.
func Corefile(cfg Config, host string, port int) string {
	domain := strings.TrimSuffix(cfg.ClusterDomain, ".")
	return fmt.Sprintf(`.:%d {
    bind %s
    errors
    loadbalance
    kubernetes %s in-addr.arpa ip6.arpa {
        kubeconfig %s
        pods verified
        ttl 5
    }
    forward . %s
    cache 30
}
`, port, host, domain, cfg.Kubeconfig, cfg.Upstream)
}
