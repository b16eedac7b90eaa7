package clusterdns

import (
	"fmt"
	"net"
	"strconv"
)

// freePort resolves addr's port: a fixed one as it is, and port 0 as one free for both UDP and
// TCP (the kernel's UDP pick may be taken for TCP, so it tries again with another).
func freePort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("dns listen address %q: %w", addr, err)
	}
	if p != "0" {
		port, err := strconv.Atoi(p)
		if err != nil {
			return "", 0, fmt.Errorf("dns listen address %q: %w", addr, err)
		}
		return host, port, nil
	}
	for range 20 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return "", 0, fmt.Errorf("dns %s/udp: %w", addr, err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		pc.Close()
		if err == nil {
			l.Close()
			return host, port, nil
		}
	}
	return "", 0, fmt.Errorf("dns %s: no port free for both UDP and TCP", addr)
}
