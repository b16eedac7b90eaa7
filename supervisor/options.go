// Package supervisor is `vkube start`: it brings up one virtual cluster in the order
// config → certs → backend → distro, publishes the kubeconfig, serves health and metrics, and
// shuts everything down in reverse.
package supervisor

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"vkube.io/vkube/config"
)

// Options configures one supervisor run.
type Options struct {
	// Config is the validated, defaulted virtual-cluster configuration.
	Config *config.Config
	// Namespace is the host namespace ("" when standalone).
	Namespace string
	// HostKubeconfig reaches the host cluster; empty: standalone, no syncer.
	HostKubeconfig string
	// InCluster reaches the host cluster with the pod's service account (vkube in a pod).
	InCluster bool
	// DNSPort is where the DNS server for synced pods listens (0: any free port). In a pod it
	// is fixed so that the chart's NAME-dns Service can target it.
	DNSPort int
	// WebhookPort is the loopback port of the Service admission webhook (0: any free port). The
	// webhook's registration is one object shared by every replica's API server, each of which
	// calls its own pod's loopback: in HA every replica must serve on the same port, so that
	// the one URL works wherever the request lands.
	WebhookPort int
	// KubeletPort is where the kubelet endpoint (logs, exec, attach, port-forward) listens on the
	// advertise address (0: any free port). In a pod it is fixed, so that the chart's
	// NAME-kubelet Service reaches it on whichever replica is ready: the fake nodes' address is
	// that Service, and the endpoint keeps working while any one replica is dead.
	KubeletPort int
	// DataDir holds every piece of state: PKI, datastore, component cert dirs, kubeconfig.
	DataDir string
	// BindAddress and AdvertiseAddress of the API; Port its secure port (0: pick one and keep it).
	BindAddress      string
	AdvertiseAddress string
	Port             int
	// HealthAddress serves /healthz, /readyz and /metrics ("" : 127.0.0.1 on a free port).
	HealthAddress string
	// Profiling adds Go's /debug/pprof handlers to the health endpoint (as kube components'
	// --profiling does).
	Profiling bool
	// KubeconfigPath is where the admin kubeconfig is written (default DataDir/kubeconfig.yaml).
	KubeconfigPath string
	// CertValidity of leaf certificates (default one year) and how often they are checked for
	// renewal (default hourly); short values exist for tests.
	CertValidity      time.Duration
	CertCheckInterval time.Duration
	// MemberName names this replica (the pod name in the chart): its embedded etcd member and
	// its identity in the syncer's leader election. Default: the virtual cluster's name.
	MemberName string
	// Peers are all replicas of an HA virtual cluster on embedded etcd, this one included;
	// empty for a single replica.
	Peers []Peer
	// Output receives the children's prefixed output.
	Output io.Writer
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.BindAddress == "" {
		o.BindAddress = "127.0.0.1"
	}
	if o.AdvertiseAddress == "" {
		o.AdvertiseAddress = "127.0.0.1"
		if o.BindAddress != "0.0.0.0" && o.BindAddress != "::" {
			o.AdvertiseAddress = o.BindAddress
		}
	}
	if o.MemberName == "" {
		o.MemberName = o.Config.Name
	}
	if o.CertCheckInterval == 0 {
		o.CertCheckInterval = time.Hour
	}
	if o.Output == nil {
		o.Output = os.Stderr
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Peer is one replica: its member name and the host (DNS name or IP) other replicas reach it at.
type Peer struct {
	Name, Host string
}

// Ports of an HA replica's embedded etcd member; every replica has its own address.
const (
	etcdClientPort = 2379
	etcdPeerPort   = 2380
)

// validate refuses options that would only fail once the cluster runs (a negative interval
// panics the renewal ticker) or after the data dir was written: before anything is.
func (o *Options) validate() error {
	if o.CertCheckInterval < 0 {
		return fmt.Errorf("--cert-check-interval %s: give a positive duration, e.g. 1h", o.CertCheckInterval)
	}
	if o.CertValidity < 0 {
		return fmt.Errorf("--cert-validity %s: give a positive duration, e.g. 8760h", o.CertValidity)
	}
	for _, p := range []struct {
		flag string
		port int
	}{{"--port", o.Port}, {"--dns-port", o.DNSPort}, {"--webhook-port", o.WebhookPort}, {"--kubelet-port", o.KubeletPort}} {
		if p.port < 0 || p.port > 65535 {
			return fmt.Errorf("%s %d: give a TCP port from 1 to 65535, or 0 for a free one", p.flag, p.port)
		}
	}
	if o.HealthAddress != "" {
		return checkListenAddress("--health-address", o.HealthAddress)
	}
	return nil
}

// checkListenAddress checks that HOST:PORT is an address this machine can listen on now.
func checkListenAddress(flag, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q: use HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free one)", flag, addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%s %q: the port must be a number from 0 to 65535, e.g. 127.0.0.1:8080", flag, addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s %q: cannot listen there (%v): give an address of this machine and a free port", flag, addr, errOf(err))
	}
	return l.Close()
}

// errOf is the innermost cause of a net error, without the operation and address it repeats.
func errOf(err error) error {
	if op, ok := err.(*net.OpError); ok && op.Err != nil {
		return op.Err
	}
	return err
}
