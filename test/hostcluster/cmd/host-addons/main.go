// Command host-addons runs the host cluster's hostPath provisioner and LoadBalancer allocator
// (package addons) until SIGTERM. hostcluster.Up starts it in the background.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"vkube.io/vkube/test/hostcluster/addons"
)

func main() {
	var cfg addons.Config
	flag.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "kubeconfig of a cluster-admin client")
	flag.StringVar(&cfg.VolumeDir, "volume-dir", "", "directory holding the hostPath volumes")
	flag.StringVar(&cfg.NodeName, "node-name", "", "node the volumes live on")
	flag.StringVar(&cfg.LoadBalancerCIDR, "load-balancer-cidr", "", "address pool of LoadBalancer Services")
	flag.Parse()
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := addons.Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "host-addons:", err)
		os.Exit(1)
	}
}
