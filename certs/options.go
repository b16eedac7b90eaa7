package certs

import (
	"fmt"
	"net"
	"time"

	"vkube.io/vkube/config"
)

const (
	defaultValidity = 365 * 24 * time.Hour
	caValidity      = 10 * 365 * 24 * time.Hour
	// backdate tolerates clients whose clocks run a little behind the supervisor's.
	backdate = 5 * time.Minute
)

// Options says what the bundle is issued for.
type Options struct {
	// Name is the virtual cluster's name; Namespace its host namespace ("" when standalone).
	Name, Namespace string
	// ClusterDomain of the virtual cluster; default config.DefaultClusterDomain.
	ClusterDomain string
	// IPs are extra IP SANs of the apiserver serving cert: host Service ClusterIP, pod IP,
	// LoadBalancer IPs, the virtual `kubernetes` service IP.
	IPs []net.IP
	// DNSNames are extra SANs of the apiserver serving cert: --tls-san values, ingress host,
	// LoadBalancer hostnames. IP-looking values become IP SANs.
	DNSNames []string
	// EtcdDNSNames are extra SANs of the etcd server and peer certs (peer pod DNS names).
	EtcdDNSNames []string
	// Validity of leaf certificates; default 365 days. CAs are valid 10 years.
	Validity time.Duration
	// RenewBefore renews a leaf when less than this remains; default Validity/3.
	RenewBefore time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() (Options, error) {
	if o.ClusterDomain == "" {
		o.ClusterDomain = config.DefaultClusterDomain
	}
	if o.Validity == 0 {
		o.Validity = defaultValidity
	}
	if o.Validity < 0 {
		return o, fmt.Errorf("certificate validity %s is negative", o.Validity)
	}
	if o.RenewBefore == 0 {
		o.RenewBefore = o.Validity / 3
	}
	if o.RenewBefore < 0 || o.RenewBefore >= o.Validity {
		// A fresh certificate would already be due for renewal, so every start would re-issue it.
		return o, fmt.Errorf("renew-before %s must be positive and shorter than the validity %s", o.RenewBefore, o.Validity)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}
