package hostcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

const addonsName = "host-addons"

// buildAddons compiles cmd/host-addons into Dir/bin: it must outlive the process that runs Up.
func (c Config) buildAddons(ctx context.Context) (string, error) {
	out := newLayout(c.Dir).bin(addonsName)
	if _, running := newLayout(c.Dir).livePID(addonsName, out); running {
		// Overwriting a running executable fails with "text file busy".
		return out, nil
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/host-addons")
	cmd.Dir = sourceDir()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s in %s: %w: %s", addonsName, cmd.Dir, err, strings.TrimSpace(string(msg)))
	}
	return out, nil
}

func (c Config) addonsProc(binary string) proc {
	l := newLayout(c.Dir)
	return proc{name: addonsName, path: binary, args: []string{
		"--kubeconfig=" + l.etc("addons.kubeconfig"),
		"--volume-dir=" + l.volumes(),
		"--node-name=" + c.NodeName,
		"--load-balancer-cidr=" + c.LoadBalancerCIDR,
	}}
}

// sourceDir is this package's directory. A binary built with -trimpath only knows the import
// path, so then the package is found through the go command from the working directory.
func sourceDir() string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if _, err := os.Stat(file); err == nil {
			return filepath.Dir(file)
		}
	}
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", "vkube.io/vkube/test/hostcluster").Output()
	if err != nil {
		return "."
	}
	return strings.TrimSpace(string(out))
}
