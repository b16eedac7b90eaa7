package hostcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// components are the processes of a cluster, in start order.
var components = []string{
	"containerd", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
	"coredns", "kubelet", "kube-proxy", addonsName,
}

// Cluster is a host cluster brought up by Up (or found by Open) in a directory.
type Cluster struct {
	cfg  Config
	bins bins
}

// Open returns the cluster Up left in dir, whether or not its processes still run.
func Open(dir string) (*Cluster, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open host cluster: %w", err)
	}
	cfg, ok, err := loadConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("open host cluster: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("open host cluster: no cluster in %s: bring one up with `make host-up HOST_DIR=%s`", dir, dir)
	}
	b, missing := findBinaries(cfg.KubeVersion)
	if len(missing) > 0 {
		return nil, fmt.Errorf("open host cluster: %w", &PrerequisiteError{Missing: missing})
	}
	return &Cluster{cfg: cfg, bins: b}, nil
}

// Config is the configuration the cluster runs with, defaults filled in.
func (c *Cluster) Config() Config { return c.cfg }

// Kubeconfig is the path of the cluster-admin kubeconfig.
func (c *Cluster) Kubeconfig() string { return newLayout(c.cfg.Dir).kubeconfig() }

// RESTConfig is the cluster-admin client configuration.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		return nil, fmt.Errorf("host cluster client: %w", err)
	}
	return rc, nil
}

// Client is a cluster-admin clientset.
func (c *Cluster) Client() (kubernetes.Interface, error) {
	rc, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("host cluster client: %w", err)
	}
	return client, nil
}

// LoadImage imports the images of a docker-archive or OCI tarball into the node's containerd,
// so pods can use them with imagePullPolicy IfNotPresent (or Never).
func (c *Cluster) LoadImage(tarPath string) error {
	if _, err := os.Stat(tarPath); err != nil {
		return fmt.Errorf("load image: %w", err)
	}
	return c.cfg.importImage(context.Background(), c.bins, tarPath)
}

// PIDs maps each running component to its process ID.
func (c *Cluster) PIDs() map[string]int {
	l := newLayout(c.cfg.Dir)
	pids := map[string]int{}
	for _, name := range components {
		if pid, ok := l.livePID(name, ""); ok {
			pids[name] = pid
		}
	}
	return pids
}

// Running reports whether every component runs.
func (c *Cluster) Running() bool { return len(c.PIDs()) == len(components) }

// Down stops the cluster and removes it from the machine; see the package function Down.
func (c *Cluster) Down(ctx context.Context) error { return Down(ctx, c.cfg.Dir) }

// waitTimeout bounds each readiness wait of Up.
const waitTimeout = 2 * time.Minute
