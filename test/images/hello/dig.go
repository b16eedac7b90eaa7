package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// dig asks the pod's nameserver (its /etc/resolv.conf) one question over udp or tcp and prints
// the rcode and each answer's type and data, one per line.
func dig(network, qtype, name string) error {
	conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return err
	}
	t, ok := dns.StringToType[strings.ToUpper(qtype)]
	if !ok {
		return fmt.Errorf("unknown record type %s", qtype)
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), t)
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, conf.Servers[0]+":"+conf.Port)
	if err != nil {
		return err
	}
	fmt.Println(dns.RcodeToString[r.Rcode])
	for _, rr := range r.Answer {
		hdr := rr.Header()
		fmt.Fprintln(os.Stdout, dns.TypeToString[hdr.Rrtype], strings.TrimPrefix(rr.String(), hdr.String()))
	}
	return nil
}

// dnsbench asks the pod's nameserver n A questions for name over udp or tcp, from 8 workers at
// once, and prints "qps Q errors E".
func dnsbench(network, name string, n int) error {
	conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return err
	}
	server := conf.Servers[0] + ":" + conf.Port
	const workers = 8
	var failed atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Net: network, Timeout: 5 * time.Second}
			var conn *dns.Conn
			for i := w; i < n; i += workers {
				if conn == nil {
					dialed, err := c.Dial(server)
					if err != nil {
						failed.Add(1)
						continue
					}
					conn = dialed
				}
				m := new(dns.Msg)
				m.SetQuestion(dns.Fqdn(name), dns.TypeA)
				if r, _, err := c.ExchangeWithConn(m, conn); err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
					failed.Add(1)
					conn.Close()
					conn = nil
				}
			}
			if conn != nil {
				conn.Close()
			}
		}()
	}
	wg.Wait()
	fmt.Printf("qps %.0f errors %d\n", float64(n)/time.Since(began).Seconds(), failed.Load())
	return nil
}
