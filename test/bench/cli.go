package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/binaries"
	"vkube.io/vkube/test/framework"
	"vkube.io/vkube/test/hostcluster"
)

// vkubeCLI runs the vkube CLI against the host cluster as a user would (like the e2e cli
// helper): HOME is a scratch dir whose ~/.kube/config is a copy of the host kubeconfig, and
// kubectl of the host's version is on PATH for `vkube connect NAME -- kubectl …`.
type vkubeCLI struct {
	bin        string
	home       string
	kubeconfig string // HOME/.kube/config
	kubectlDir string
	log        string // every command and its output
	mu         sync.Mutex
}

// newCLI prepares HOME under dir.
func newCLI(e *env, h *hostcluster.Cluster, dir string) (*vkubeCLI, error) {
	c := &vkubeCLI{bin: e.vkubeBin, home: filepath.Join(dir, "home"), log: filepath.Join(dir, "cli.log")}
	c.kubeconfig = filepath.Join(c.home, ".kube", "config")
	if err := os.MkdirAll(filepath.Dir(c.kubeconfig), 0o700); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(h.Kubeconfig())
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.kubeconfig, data, 0o600); err != nil {
		return nil, err
	}
	// The bench's private binaries dir has the control plane only; kubectl is in the cache.
	withoutBinariesDir(func() { c.kubectlDir, err = binaries.Find(h.Config().KubeVersion, "kubectl") })
	if err != nil {
		return nil, err
	}
	return c, nil
}

// env is the bench's environment with the user's HOME, kubeconfig and PATH replaced, and
// without the bench's VKUBE_BINARIES_DIR.
func (c *vkubeCLI) env() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "KUBECONFIG", "XDG_CACHE_HOME", "PATH", binaries.EnvDir:
			continue
		}
		out = append(out, kv)
	}
	return append(out, "HOME="+c.home, "KUBECONFIG="+c.kubeconfig, "XDG_CACHE_HOME="+filepath.Join(c.home, ".cache"),
		"PATH="+c.kubectlDir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// run runs vkube with args and returns its output (stdout and stderr).
func (c *vkubeCLI) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.env()
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	began := time.Now()
	err := cmd.Run()
	c.mu.Lock()
	if f, ferr := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); ferr == nil {
		fmt.Fprintf(f, "=== %s vkube %s (%.1fs, %v)\n%s\n", began.Format(time.RFC3339Nano), strings.Join(args, " "), time.Since(began).Seconds(), err, out.String())
		f.Close()
	}
	c.mu.Unlock()
	if err != nil {
		return out.String(), fmt.Errorf("vkube %s: %w: %s", strings.Join(args, " "), err, shorten(lastLine(out.String()), 200))
	}
	return out.String(), nil
}

// deleteCluster runs `vkube delete NAME` and waits for the host namespace to go, reporting
// (not failing on) what is left.
func (c *vkubeCLI) deleteCluster(hc kubernetes.Interface, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := c.run(ctx, "delete", name); err != nil {
		progress("%v", err)
	}
	ns := "vkube-" + name
	for ctx.Err() == nil {
		if _, err := hc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		_ = sleepCtx(ctx, time.Second)
	}
	progress("host namespace %s still there 4 minutes after vkube delete %s", ns, name)
}

// leftoverCluster deletes a virtual cluster an earlier, interrupted run left under name.
func (c *vkubeCLI) leftoverCluster(ctx context.Context, hc kubernetes.Interface, name string) {
	if _, err := hc.CoreV1().Namespaces().Get(ctx, "vkube-"+name, metav1.GetOptions{}); err == nil {
		progress("deleting virtual cluster %s left by an earlier run", name)
		c.deleteCluster(hc, name)
	}
}

var (
	imageMu  sync.Mutex
	imageErr error
	imageOK  bool
)

// ensureImage loads the vkube image into the host's containerd once per bench run (as the
// e2e tests do), building it first with `make image` when bin/vkube-image.tar (or
// VKUBE_IMAGE_TAR) is missing. The chart's default image then runs with IfNotPresent.
func ensureImage(ctx context.Context, h *hostcluster.Cluster) error {
	imageMu.Lock()
	defer imageMu.Unlock()
	if imageOK || imageErr != nil {
		return imageErr
	}
	imageErr = func() error {
		tar := os.Getenv("VKUBE_IMAGE_TAR")
		if tar == "" {
			tar = filepath.Join(framework.RepoRoot(), "bin", "vkube-image.tar")
		}
		if _, err := os.Stat(tar); errors.Is(err, os.ErrNotExist) && os.Getenv("VKUBE_IMAGE_TAR") == "" {
			progress("no %s: running make image", tar)
			cmd := exec.CommandContext(ctx, "make", "image")
			cmd.Dir = framework.RepoRoot()
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			withoutBinariesDir(func() { err = cmd.Run() })
			if err != nil {
				return fmt.Errorf("make image: %w", err)
			}
		}
		began := time.Now()
		if err := h.LoadImage(tar); err != nil {
			return err
		}
		progress("vkube image %s loaded into the host in %.1fs", tar, time.Since(began).Seconds())
		return nil
	}()
	imageOK = imageErr == nil
	return imageErr
}

// withoutBinariesDir runs f with the bench's VKUBE_BINARIES_DIR (its private copies of the
// control plane) out of the environment.
func withoutBinariesDir(f func()) {
	if saved, ok := os.LookupEnv(binaries.EnvDir); ok {
		os.Unsetenv(binaries.EnvDir)
		defer os.Setenv(binaries.EnvDir, saved)
	}
	f()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
