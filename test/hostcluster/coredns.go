package hostcluster

import (
	"fmt"
	"net"
	"strconv"
)

// coreDNSConfig serves cluster.local from the API and forwards the rest to the machine's
// resolvers. CoreDNS runs as a host process on the node IP; kube-system/kube-dns points at it.
func (c Config) coreDNSConfig() string {
	hp := func(port int) string { return net.JoinHostPort(c.NodeIP, strconv.Itoa(port)) }
	return fmt.Sprintf(`.:%d {
    bind %s
    errors
    health %s
    ready %s
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig %s vkube-host
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    forward . /etc/resolv.conf
    cache 5
}
`, portDNS, c.NodeIP, hp(portDNSHealth), hp(portDNSReady), newLayout(c.Dir).etc("coredns.kubeconfig"))
}

func (c Config) coreDNSProc(b bins) proc {
	return proc{name: "coredns", path: b.coredns, args: []string{"-conf", newLayout(c.Dir).etc("Corefile")}}
}
