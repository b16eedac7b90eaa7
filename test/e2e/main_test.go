// Package e2e runs vkube against a real host cluster (test/hostcluster: kubelet, containerd,
// kube-proxy, CoreDNS on this machine), brought up once for every suite in this package.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/test/framework"
	"vkube.io/vkube/test/hostcluster"
)

var (
	vkubeBin string
	host     *hostcluster.Cluster
	// hostErr is why the host cluster is not there; tests skip (or fail in CI) with it.
	hostErr error
)

func TestMain(m *testing.M) {
	bin, cleanup, err := framework.Binary()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	vkubeBin = bin
	dir := os.Getenv("HOST_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", ".vkube", "host")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	cfg := hostcluster.DefaultConfig(dir)
	cfg.Log = os.Stderr
	host, hostErr = hostcluster.Up(ctx, cfg)
	cancel()
	code := m.Run()
	if host != nil && os.Getenv("VKUBE_KEEP_HOST") == "" {
		dctx, dcancel := context.WithTimeout(context.Background(), 3*time.Minute)
		if err := host.Down(dctx); err != nil {
			fmt.Fprintln(os.Stderr, "host cluster down:", err)
			code = 1
		}
		dcancel()
	}
	cleanup()
	os.Exit(code)
}

// requireHost skips, or fails in CI, when the host cluster could not be brought up.
// requireHostClient is requireHost with a cluster-admin client of the host.
func requireHostClient(t *testing.T) (*hostcluster.Cluster, kubernetes.Interface) {
	t.Helper()
	h := requireHost(t)
	hc, err := h.Client()
	if err != nil {
		t.Fatal(err)
	}
	return h, hc
}

func requireHost(t *testing.T) *hostcluster.Cluster {
	t.Helper()
	if hostErr != nil {
		failOrSkip(t, fmt.Errorf("no host cluster: %w", hostErr))
	}
	return host
}

// failOrSkip ends the test on err: a skip when a prerequisite is missing outside CI, a failure
// otherwise (in CI a missing prerequisite is a failure).
func failOrSkip(t *testing.T, err error) {
	t.Helper()
	var pe *hostcluster.PrerequisiteError
	if os.Getenv("CI") != "true" && errors.As(err, &pe) {
		t.Skip(err)
	}
	t.Fatal(err)
}
