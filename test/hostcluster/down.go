package hostcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a component gets between SIGTERM and SIGKILL: the cluster is thrown
// away, so nothing is worth waiting for (kube-apiserver takes about a second to drain).
const stopGrace = 2 * time.Second

// Down stops the cluster in dir and removes every trace of it: processes (components, shims,
// containers), mounts, cgroups, iptables chains, the bridge and its veths, the node IP, the
// files the kubelet and the CNI plugins keep outside Dir, and Dir itself. Pods are killed, not
// drained: the cluster is disposable. A dir without a cluster is left alone.
func Down(ctx context.Context, dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("host cluster down: %w", err)
	}
	if !exists(dir) {
		return nil
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return fmt.Errorf("host cluster down: %w", err)
	}
	defer unlock()
	cfg, ok, err := loadConfig(dir)
	if err != nil {
		return fmt.Errorf("host cluster down: %w", err)
	}
	if !ok {
		return nil
	}
	l := newLayout(dir)
	var errs []error
	// The kubelet and the addons first, so nothing restarts what is being killed.
	errs = append(errs, l.stopAll(addonsName, "coredns", kubeRouterName, "kube-proxy", "kubelet")...)
	errs = append(errs, killCgroup(cfg.cgroupRoot(), 10*time.Second))
	errs = append(errs, l.stopAll("containerd")...)
	errs = append(errs, l.stopAll("kube-scheduler", "kube-controller-manager")...)
	errs = append(errs, l.stopAll("kube-apiserver")...)
	errs = append(errs, l.stopAll("etcd")...)
	// containerd's shims, and anything else started from Dir that a PID file does not name.
	strays := processesUnder(dir)
	var sockets []string
	for _, pid := range strays {
		sockets = append(sockets, listeningSockets(pid)...)
	}
	errs = append(errs, killAll(strays))
	errs = append(errs, removeShimSockets(sockets))
	errs = append(errs, unmountAll(dir))
	errs = append(errs, removeCgroup(cfg.cgroupRoot()))
	errs = append(errs, sweepChains(ctx, chainPrefixes))
	errs = append(errs, destroyIPSets(ctx))
	errs = append(errs, cfg.removeNetwork(ctx))
	errs = append(errs, removeHostFiles(dir))
	errs = append(errs, release(dir))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("host cluster down: %w", err)
	}
	left, err := Leftovers(ctx, dir)
	if err != nil {
		return fmt.Errorf("host cluster down: %w", err)
	}
	if len(left) > 0 {
		return fmt.Errorf("host cluster down: left behind: %s", strings.Join(left, "; "))
	}
	// Only now: a mount still under Dir would make RemoveAll delete what it shows.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("host cluster down: %w", err)
	}
	return nil
}

// stopAll stops the named components concurrently.
func (l layout) stopAll(names ...string) []error {
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() { errs[i] = l.stop(n, stopGrace) })
	}
	wg.Wait()
	return errs
}

func killAll(pids []int) error {
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	var errs []error
	for _, pid := range pids {
		if !waitGone(pid, 5*time.Second) {
			errs = append(errs, fmt.Errorf("process %s survived SIGKILL", describe(pid)))
		}
	}
	return errors.Join(errs...)
}

// removeShimSockets removes the sockets of killed shims in containerd's fixed directory.
func removeShimSockets(paths []string) error {
	var errs []error
	for _, p := range paths {
		if !strings.HasPrefix(p, shimSocketDir+"/") {
			continue
		}
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
