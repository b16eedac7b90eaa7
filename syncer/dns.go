package syncer

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
)

// DNSConfig configures the DNS server vkube runs for its virtual cluster's pods.
type DNSConfig struct {
	// Listen is host:port for UDP and TCP (a Service maps port 53 to it, so vkube needs no
	// privilege to bind 53).
	Listen        string
	ClusterDomain string
	// Upstream resolves everything else (the host's DNS), host:port.
	Upstream string
	Virtual  kubernetes.Interface
	Logger   *slog.Logger
}

// ServeDNS answers A/AAAA/SRV for virtual Services (<svc>.<ns>.svc.<domain>, headless Services
// with their endpoints' addresses, <pod-hostname>.<svc>.<ns>.svc.<domain>) from informer caches
// and forwards every other name upstream.
func ServeDNS(ctx context.Context, cfg DNSConfig) (net.Addr, error) {
	f := informers.NewSharedInformerFactory(cfg.Virtual, 10*time.Minute)
	d := &dnsServer{cfg: cfg, suffix: ".svc." + strings.TrimSuffix(cfg.ClusterDomain, ".") + ".",
		services: f.Core().V1().Services().Lister(), slices: f.Discovery().V1().EndpointSlices().Lister(),
		client: &dns.Client{Timeout: 3 * time.Second}}
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	pc, l, err := listenUDPAndTCP(cfg.Listen)
	if err != nil {
		return nil, err
	}
	udp := &dns.Server{PacketConn: pc, Handler: d}
	tcp := &dns.Server{Listener: l, Handler: d}
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	go func() { <-ctx.Done(); _ = udp.Shutdown(); _ = tcp.Shutdown() }()
	return pc.LocalAddr(), nil
}

// listenUDPAndTCP binds the same port for UDP and TCP. With port 0 the kernel picks a free UDP
// port that may be taken for TCP, so it tries again with another pick.
func listenUDPAndTCP(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dns listen address %q: %w", addr, err)
	}
	attempts := 1
	if port == "0" {
		attempts = 20
	}
	for i := 1; ; i++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns %s/udp: %w", addr, err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		if i == attempts {
			return nil, nil, fmt.Errorf("dns %s/tcp: %w", addr, err)
		}
	}
}

type dnsServer struct {
	cfg      DNSConfig
	suffix   string
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
	client   *dns.Client
}

func (d *dnsServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 {
		d.forward(w, req)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	if !strings.HasSuffix(name, d.suffix) {
		d.forward(w, req)
		return
	}
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	labels := strings.Split(strings.TrimSuffix(name, d.suffix), ".")
	ips, ok := d.lookup(labels)
	if !ok {
		resp.Rcode = dns.RcodeNameError
		_ = w.WriteMsg(resp)
		return
	}
	for _, ip := range ips {
		switch {
		case q.Qtype == dns.TypeA && ip.To4() != nil:
			resp.Answer = append(resp.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: ip.To4()})
		case q.Qtype == dns.TypeAAAA && ip.To4() == nil:
			resp.Answer = append(resp.Answer, &dns.AAAA{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: 5}, AAAA: ip})
		}
	}
	_ = w.WriteMsg(resp)
}

// lookup resolves [svc, ns] or [hostname, svc, ns] within the cluster domain.
func (d *dnsServer) lookup(l []string) ([]net.IP, bool) {
	switch len(l) {
	case 2:
		svc, err := d.services.Services(l[1]).Get(l[0])
		if err != nil {
			return nil, false
		}
		if svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
			var ips []net.IP
			for _, s := range append([]string{svc.Spec.ClusterIP}, svc.Spec.ClusterIPs...) {
				if ip := net.ParseIP(s); ip != nil && !containsIP(ips, ip) {
					ips = append(ips, ip)
				}
			}
			return ips, true
		}
		return d.endpoints(l[1], l[0], ""), true
	case 3:
		ips := d.endpoints(l[2], l[1], l[0])
		return ips, len(ips) > 0
	}
	return nil, false
}

// endpoints are the ready addresses of a Service's EndpointSlices, optionally of one hostname.
func (d *dnsServer) endpoints(ns, svc, hostname string) []net.IP {
	list, err := d.slices.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc}))
	if err != nil {
		return nil
	}
	var ips []net.IP
	for _, s := range list {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			if hostname != "" && (e.Hostname == nil || *e.Hostname != hostname) {
				continue
			}
			for _, a := range e.Addresses {
				if ip := net.ParseIP(a); ip != nil {
					ips = append(ips, ip)
				}
			}
		}
	}
	return ips
}

func (d *dnsServer) forward(w dns.ResponseWriter, req *dns.Msg) {
	network := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	c := *d.client
	c.Net = network
	resp, _, err := c.Exchange(req, d.cfg.Upstream)
	if err != nil {
		fail := new(dns.Msg)
		fail.SetRcode(req, dns.RcodeServerFailure)
		_ = w.WriteMsg(fail)
		return
	}
	_ = w.WriteMsg(resp)
}

func containsIP(ips []net.IP, ip net.IP) bool {
	for _, x := range ips {
		if x.Equal(ip) {
			return true
		}
	}
	return false
}
