// Package start is `vkube start`: the supervisor of one virtual cluster.
package start

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"vkube.io/vkube/cli/startconfig"
	"vkube.io/vkube/config"
	"vkube.io/vkube/supervisor"
)

type flags struct {
	// cfg are the flags that make up the configuration (startconfig.Flags.Build).
	cfg              startconfig.Flags
	hostKubeconfig   string
	dataDir          string
	bindAddress      string
	advertiseAddress string
	port             int
	healthAddress    string
	profiling        bool
	kubeconfig       string
	logFormat        string
	certValidity     time.Duration
	certCheck        time.Duration
	inCluster        bool
	dnsPort          int
	webhookPort      int
	kubeletPort      int
	memberName       string
	peers            []string
}

// NewCommand builds `vkube start`.
func NewCommand(out, errOut io.Writer) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Run a virtual cluster's control plane (the supervisor)",
		Long: `Run one virtual cluster: generate or reuse its PKI, start its datastore and its
control-plane processes, and write the admin kubeconfig to DATA_DIR/kubeconfig.yaml once the
API is usable. Runs in the foreground until interrupted; state in --data-dir survives restarts.

The datastore DSN may contain a password: prefer VKUBE_DATASTORE_ENDPOINT or
--datastore-endpoint-file over --datastore-endpoint, so it stays off process listings.`,
		Example: `  # a standalone virtual cluster on embedded SQLite
  vkube start --name dev --data-dir /tmp/dev
  kubectl --kubeconfig /tmp/dev/kubeconfig.yaml get namespaces

  # on PostgreSQL; vkube creates a database of its own when the DSN names none
  VKUBE_DATASTORE_ENDPOINT='postgres://vkube:secret@127.0.0.1:5432/?sslmode=disable' \
    vkube start --name team-a --data-dir /var/lib/vkube/team-a --backend postgres

  # inside namespace team-a of a host cluster: pods run on the host
  vkube start --name team-a --data-dir /tmp/team-a --host-kubeconfig ~/.kube/config \
    --host-namespace team-a --bind-address 0.0.0.0 --advertise-address 172.31.255.1

  # the same, isolated: Pod Security Standard, quota, limit range and network policies
  vkube start --name team-a --data-dir /tmp/team-a --host-kubeconfig ~/.kube/config \
    --host-namespace team-a --bind-address 0.0.0.0 --advertise-address 172.31.255.1 --isolate

  # embedded etcd, another Kubernetes version, an extra SAN
  vkube start --name v35 --data-dir /tmp/v35 --backend etcd --kubernetes-version v1.35.4 --tls-san vc.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), f, cmd, errOut)
		},
	}
	fl := cmd.Flags()
	f.cfg.AddDatastoreFlags(cmd)
	fl.StringVar(&f.dataDir, "data-dir", "", "directory for all state: PKI, datastore, kubeconfig (required)")
	fl.StringVar(&f.cfg.Distro, "distro", "", "control-plane distro: k8s, eks, k3s or k0s (default k8s)")
	fl.StringVar(&f.cfg.KubernetesVersion, "kubernetes-version", "", "Kubernetes version of the control plane, e.g. v1.34.2")
	fl.StringArrayVar(&f.cfg.TLSSANs, "tls-san", nil, "extra DNS name or IP for the API serving certificate; repeatable")
	fl.StringVar(&f.bindAddress, "bind-address", "127.0.0.1", "address the API listens on")
	fl.StringVar(&f.advertiseAddress, "advertise-address", "", "address the API advertises (default: the bind address)")
	fl.IntVar(&f.port, "port", 0, "API port (default: a free port, kept across restarts)")
	fl.StringVar(&f.healthAddress, "health-address", "127.0.0.1:0", "address of /healthz, /readyz and /metrics")
	fl.BoolVar(&f.profiling, "profiling", false, "serve Go's /debug/pprof on the health address")
	fl.StringVar(&f.kubeconfig, "kubeconfig-out", "", "where to write the admin kubeconfig (default DATA_DIR/kubeconfig.yaml)")
	fl.StringVar(&f.cfg.ServiceCIDR, "service-cidr", "", "service CIDR of the virtual cluster (default "+config.DefaultServiceCIDR+" standalone)")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fl.DurationVar(&f.certValidity, "cert-validity", 0, "validity of leaf certificates (default one year; CAs ten years)")
	fl.DurationVar(&f.certCheck, "cert-check-interval", time.Hour, "how often leaf certificates are checked and renewed when a third of their validity remains")
	_ = fl.MarkHidden("cert-validity")
	fl.StringVar(&f.hostKubeconfig, "host-kubeconfig", "", "kubeconfig of the host cluster (empty: standalone, nothing is synced)")
	fl.BoolVar(&f.inCluster, "in-cluster", false, "reach the host cluster as this pod's service account (how the Helm chart runs vkube)")
	fl.IntVar(&f.dnsPort, "dns-port", 0, "port of the DNS server for synced pods (default: a free port)")
	fl.IntVar(&f.webhookPort, "webhook-port", 0, "loopback port of the Service admission webhook (default: a free port); replicas of one virtual cluster must share it")
	fl.IntVar(&f.kubeletPort, "kubelet-port", 0, "port of the kubelet endpoint (logs, exec, port-forward) on the advertise address (default: a free port); in a pod, the NAME-kubelet Service's target")
	fl.StringVar(&f.memberName, "member-name", "", "name of this replica in an HA virtual cluster (the pod name; default the virtual cluster's name)")
	fl.StringArrayVar(&f.peers, "peer", nil, "NAME=HOST of every replica of an HA virtual cluster on embedded etcd, this one included; repeatable")
	fl.StringVar(&f.cfg.HelperImage, "helper-image", "", "vkube image of the helper init container that writes virtual names into the /etc/hosts of synced pods with a subdomain, unless the config's sync.toHost.rewriteHostsImage names one (the Helm chart passes its own image; unset: no helper)")
	fl.BoolVar(&f.cfg.Isolate, "isolate", false, "isolation mode: a Pod Security Standard on virtual namespaces (baseline by default), and a ResourceQuota, LimitRange and NetworkPolicies in the host namespace")
	_ = cmd.RegisterFlagCompletionFunc("distro", cobra.FixedCompletions([]string{"k8s", "eks", "k3s", "k0s"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func run(ctx context.Context, f *flags, cmd *cobra.Command, errOut io.Writer) error {
	logger, err := newLogger(f.logFormat, errOut)
	if err != nil {
		return err
	}
	if f.dataDir == "" {
		return fmt.Errorf("--data-dir is required: the directory that keeps this virtual cluster's state")
	}
	cfg, warnings, err := f.cfg.Build(cmd.Flags().Changed)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		logger.Warn(w)
	}
	dataDir, err := filepath.Abs(f.dataDir)
	if err != nil {
		return err
	}
	peers, err := parsePeers(f.peers, cfg.Replicas())
	if err != nil {
		return err
	}
	if len(peers) == 0 && cfg.Replicas() > 1 && cfg.ControlPlane.BackingStore.Etcd.Embedded.Enabled {
		return fmt.Errorf("%d replicas on embedded etcd: give every replica with --peer NAME=HOST (the Helm chart does)", cfg.Replicas())
	}
	tuneGC()
	ctx, cancel := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	s, err := supervisor.Start(ctx, supervisor.Options{
		Config: cfg, Namespace: f.cfg.Namespace, HostKubeconfig: f.hostKubeconfig, InCluster: f.inCluster, DNSPort: f.dnsPort, WebhookPort: f.webhookPort, KubeletPort: f.kubeletPort, DataDir: dataDir,
		MemberName: f.memberName, Peers: peers,
		BindAddress: f.bindAddress, AdvertiseAddress: f.advertiseAddress, Port: f.port,
		CertValidity: f.certValidity, CertCheckInterval: f.certCheck,
		HealthAddress: f.healthAddress, Profiling: f.profiling, KubeconfigPath: f.kubeconfig, Output: errOut, Logger: logger,
	})
	if err != nil {
		return err
	}
	var runErr error
	select {
	case <-s.Ready():
		fmt.Fprintf(errOut, "\nvirtual cluster %q is ready:\n  kubectl --kubeconfig %s get namespaces\n\n", cfg.Name, s.Kubeconfig)
		select {
		case <-ctx.Done():
		case runErr = <-s.Err():
		}
	case runErr = <-s.Err():
	case <-ctx.Done():
	}
	if runErr != nil {
		logger.Error("virtual cluster failed", "error", runErr)
	}
	logger.Info("stopping virtual cluster")
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer stopCancel()
	if err := s.Stop(stopCtx); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

func newLogger(format string, out io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(out, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(out, nil)), nil
	default:
		return nil, fmt.Errorf("--log-format %q is not supported: use text or json", format)
	}
}

// parsePeers reads --peer NAME=HOST values; an HA virtual cluster on embedded etcd needs one per
// replica.
func parsePeers(values []string, replicas int) ([]supervisor.Peer, error) {
	var peers []supervisor.Peer
	seen := map[string]bool{}
	for _, v := range values {
		name, host, ok := strings.Cut(v, "=")
		if !ok || name == "" || host == "" {
			return nil, fmt.Errorf("--peer %q: use NAME=HOST, e.g. --peer vc-0=vc-0.vc-headless.team-a.svc", v)
		}
		if seen[name] {
			return nil, fmt.Errorf("--peer %s given twice: one per replica", name)
		}
		seen[name] = true
		peers = append(peers, supervisor.Peer{Name: name, Host: host})
	}
	if len(peers) > 0 && len(peers) != replicas {
		return nil, fmt.Errorf("%d --peer values for %d replicas (controlPlane.statefulSet.highAvailability.replicas): give one per replica", len(peers), replicas)
	}
	return peers, nil
}
