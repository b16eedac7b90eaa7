package hostcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"vkube.io/vkube/test/framework"
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

func sourceDir() string { return framework.SourceDir("vkube.io/vkube/test/hostcluster") }
