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
	// DataDir holds every piece of state: PKI, datastore, component cert dirs, kubeconfig.
	DataDir string
	// BindAddress and AdvertiseAddress of the API; Port its secure port (0: pick one and keep it).
	BindAddress      string
	AdvertiseAddress string
	Port             int
	// HealthAddress serves /healthz, /readyz and /metrics ("" : 127.0.0.1 on a free port).
	HealthAddress string
	// KubeconfigPath is where the admin kubeconfig is written (default DataDir/kubeconfig.yaml).
	KubeconfigPath string
	// CertValidity of leaf certificates (default one year) and how often they are checked for
	// renewal (default hourly); short values exist for tests.
	CertValidity      time.Duration
	CertCheckInterval time.Duration
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
