package hostcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"time"
)

// Up brings the cluster of cfg from whatever state Dir is in to a Ready node with DNS, storage
// and LoadBalancer addresses: it creates what is missing and starts what does not run, so a
// second Up on a running cluster only checks it. The processes it starts keep running after the
// caller exits; Down stops them.
func Up(ctx context.Context, cfg Config) (*Cluster, error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("host cluster up: %w", err)
	}
	cfg.Dir = dir
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("host cluster up: %w", err)
	}
	if err := CheckPrerequisites(cfg); err != nil {
		return nil, err
	}
	unlock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("host cluster up: %w", err)
	}
	defer unlock()
	c := &Cluster{cfg: cfg}
	c.bins, _ = findBinaries(cfg.KubeVersion)
	logf := func(format string, args ...any) {
		fmt.Fprintf(cfg.Log, "[%6.2fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	if err := c.prepare(ctx); err != nil {
		return nil, fmt.Errorf("host cluster up: %w", err)
	}
	logf("host prepared: node IP %s on lo, bridge %s, PKI and configs in %s", cfg.NodeIP, cfg.Bridge, dir)
	if err := c.start(ctx, logf); err != nil {
		return nil, fmt.Errorf("host cluster up: %w", err)
	}
	logf("cluster ready: kubeconfig %s", c.Kubeconfig())
	return c, nil
}

// prepare readies the machine and Dir: nothing in it starts a process.
func (c *Cluster) prepare(ctx context.Context) error {
	cfg, l := c.cfg, newLayout(c.cfg.Dir)
	if err := claim(cfg.Dir); err != nil {
		return err
	}
	if saved, ok, err := loadConfig(cfg.Dir); err != nil {
		return err
	} else if ok && !sameConfig(saved, cfg) && len(c.PIDs()) > 0 {
		return fmt.Errorf("%s holds a running cluster with another configuration: run `make host-down HOST_DIR=%s` first", cfg.Dir, cfg.Dir)
	}
	for _, d := range l.dirs() {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	if err := cfg.save(); err != nil {
		return err
	}
	if err := cfg.ensureNetwork(ctx); err != nil {
		return err
	}
	if err := cfg.ensureCgroupRoot(); err != nil {
		return err
	}
	if _, err := cfg.ensurePKI(ctx); err != nil {
		return err
	}
	return c.writeConfigs()
}

// sameConfig compares configurations without their log writers.
func sameConfig(a, b Config) bool {
	a.Log, b.Log = nil, nil
	return reflect.DeepEqual(a, b)
}
