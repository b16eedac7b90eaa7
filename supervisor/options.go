// Package supervisor is `vkube start`: it brings up one virtual cluster in the order
// config → certs → backend → distro, publishes the kubeconfig, serves health and metrics, and
// shuts everything down in reverse.
package supervisor

import (
	"io"
	"log/slog"
	"os"
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
