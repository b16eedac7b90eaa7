// Command host-cluster brings the host cluster of package hostcluster up and down from the
// Makefile:
//
//	host-cluster up --dir DIR [--kube-version V]  start (or complete) the cluster; kubeconfig: DIR/kubeconfig.yaml
//	host-cluster down --dir DIR                   stop it and remove every trace of it
//	host-cluster load-image --dir DIR TAR...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"vkube.io/vkube/test/hostcluster"
)

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: host-cluster up|down|load-image --dir DIR [TAR...]"))
	}
	verb := os.Args[1]
	fs := flag.NewFlagSet(verb, flag.ExitOnError)
	dir := fs.String("dir", ".vkube/host", "state directory of the cluster")
	kubeVersion := fs.String("kube-version", hostcluster.DefaultConfig("").KubeVersion, "Kubernetes version of the cluster (up)")
	fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	switch verb {
	case "up":
		cfg := hostcluster.DefaultConfig(*dir)
		cfg.Log = os.Stderr
		cfg.KubeVersion = *kubeVersion
		c, err := hostcluster.Up(ctx, cfg)
		if err != nil {
			fail(err)
		}
		fmt.Printf("host cluster up in %.1fs; kubeconfig: %s\n", time.Since(start).Seconds(), c.Kubeconfig())
	case "down":
		if err := hostcluster.Down(ctx, *dir); err != nil {
			fail(err)
		}
		fmt.Printf("host cluster down in %.1fs\n", time.Since(start).Seconds())
	case "load-image":
		c, err := hostcluster.Open(*dir)
		if err != nil {
			fail(err)
		}
		if fs.NArg() == 0 {
			fail(errors.New("load-image: name at least one tarball"))
		}
		for _, tar := range fs.Args() {
			if err := c.LoadImage(tar); err != nil {
				fail(err)
			}
			fmt.Println("loaded", tar)
		}
	default:
		fail(fmt.Errorf("unknown command %q: use up, down or load-image", verb))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "host-cluster:", err)
	os.Exit(1)
}
