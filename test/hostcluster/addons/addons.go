// Package addons holds the host cluster's stand-ins for what a cloud provides: a provisioner
// that binds PersistentVolumeClaims to hostPath PersistentVolumes under a directory, and an
// allocator that gives LoadBalancer Services an address from a pool kube-proxy then routes.
package addons

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// Config says where the addons find the API and what they hand out.
type Config struct {
	// Kubeconfig of a cluster-admin client.
	Kubeconfig string
	// VolumeDir holds one directory per provisioned volume.
	VolumeDir string
	// NodeName is the node the hostPath volumes live on.
	NodeName string
	// LoadBalancerCIDR is the address pool of LoadBalancer Services.
	LoadBalancerCIDR string
	Logger           *slog.Logger
}

// Run runs both controllers until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pool, err := netip.ParsePrefix(cfg.LoadBalancerCIDR)
	if err != nil {
		return fmt.Errorf("addons: load balancer pool: %w", err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	if err != nil {
		return fmt.Errorf("addons: %w", err)
	}
	rc.QPS, rc.Burst = 50, 100
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("addons: %w", err)
	}
	factory := informers.NewSharedInformerFactory(client, 10*time.Minute)
	st := newStorage(client, factory, cfg.VolumeDir, cfg.NodeName, cfg.Logger)
	lb := newLoadBalancer(client, factory, pool.Masked(), cfg.Logger)
	if err := st.ensureClass(ctx); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("addons: cache of %v did not sync", typ)
		}
	}
	go st.queue.run(ctx, st.sync)
	go lb.queue.run(ctx, lb.sync)
	cfg.Logger.Info("addons running", "volumeDir", cfg.VolumeDir, "loadBalancerPool", pool.Masked())
	<-ctx.Done()
	return nil
}

// keyOf is the namespace/name key of an informer object, tombstones included.
func keyOf(obj any) (string, bool) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	return key, err == nil
}

// pollInterval is how often the addons retry the API while it comes up.
const pollInterval = 500 * time.Millisecond
