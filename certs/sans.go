package certs

import (
	"net"
	"slices"
	"strings"
)

// apiServerSANs are the names kube-apiserver is reached by: loopback, the in-cluster `kubernetes`
// service, the host Service of the virtual cluster and whatever the user exposes it as.
func apiServerSANs(o Options) ([]string, []net.IP) {
	dns := []string{
		"localhost",
		"kubernetes",
		"kubernetes.default",
		"kubernetes.default.svc",
		"kubernetes.default.svc." + o.ClusterDomain,
	}
	if o.Name != "" {
		dns = append(dns, o.Name)
		if o.Namespace != "" {
			svc := o.Name + "." + o.Namespace
			dns = append(dns, svc, svc+".svc", svc+".svc."+o.ClusterDomain)
		}
	}
	ips := append([]net.IP{net.IPv4(127, 0, 0, 1)}, o.IPs...)
	return splitSANs(append(dns, o.DNSNames...), ips)
}

// etcdSANs are loopback (the supervisor's own backend) plus the peer pod names of an HA etcd.
func etcdSANs(o Options) ([]string, []net.IP) {
	return splitSANs(append([]string{"localhost"}, o.EtcdDNSNames...), []net.IP{net.IPv4(127, 0, 0, 1)})
}

// splitSANs moves IP-looking names to the IPs, lower-cases names and drops duplicates, so that the
// same wanted set always yields the same certificate and the same comparison against a stored one.
func splitSANs(names []string, ips []net.IP) ([]string, []net.IP) {
	var dns []string
	var outIPs []net.IP
	addIP := func(ip net.IP) {
		if !slices.ContainsFunc(outIPs, ip.Equal) {
			outIPs = append(outIPs, ip)
		}
	}
	for _, ip := range ips {
		if ip != nil {
			addIP(ip)
		}
	}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		switch ip := net.ParseIP(n); {
		case n == "":
		case ip != nil:
			addIP(ip)
		case !slices.Contains(dns, n):
			dns = append(dns, n)
		}
	}
	return dns, outIPs
}

func missingSANs(dns []string, ips []net.IP, have []string, haveIPs []net.IP) []string {
	var missing []string
	for _, n := range dns {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, n) }) {
			missing = append(missing, n)
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(haveIPs, ip.Equal) {
			missing = append(missing, ip.String())
		}
	}
	return missing
}
