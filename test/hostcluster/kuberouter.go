package hostcluster

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// The optional NetworkPolicy agent. The bridge CNI enforces no NetworkPolicy; kube-router's
// network policy controller alone (hack/kube-router.sh builds it; no routing, no service proxy)
// does, with iptables chains and ipsets for the pods of this node. It runs detached like the
// other components, against the admin kubeconfig, and only once UpNetworkPolicyAgent starts it.
// Its chains and ipsets outlive it and would go on enforcing, so DownNetworkPolicyAgent and Down
// remove them. (The SIG's kube-network-policies needs nftables' queue expression, which this
// machine's kernel lacks; iptables and ipset it has.)
const kubeRouterName = "kube-router"

var (
	kubeRouterChains = []string{"KUBE-ROUTER-", "KUBE-NWPLCY-", "KUBE-POD-FW-"}
	kubeRouterSets   = []string{"KUBE-SRC-", "KUBE-DST-", "inet6:KUBE-SRC-", "inet6:KUBE-DST-"}
)

// FindKubeRouter is the binary of hack/kube-router.sh (the newest in the cache), or "".
func FindKubeRouter() string { return newestTool(kubeRouterName, kubeRouterName, nil) }

// UpNetworkPolicyAgent starts kube-router's network policy controller and returns once it has
// hooked its chains into the filter table.
func (c *Cluster) UpNetworkPolicyAgent(ctx context.Context) error {
	var missing []string
	binary := FindKubeRouter()
	if binary == "" {
		missing = append(missing, "kube-router (build it with `make kube-router` or hack/kube-router.sh)")
	}
	if _, err := exec.LookPath("ipset"); err != nil {
		missing = append(missing, "ipset (Debian package ipset: hack/host-deps.sh)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("network policy agent: %w", &PrerequisiteError{Missing: missing})
	}
	l := newLayout(c.cfg.Dir)
	bin := l.bin(kubeRouterName)
	if _, running := l.livePID(kubeRouterName, bin); !running {
		if err := copyFile(binary, bin, 0o755); err != nil {
			return fmt.Errorf("network policy agent: %w", err)
		}
	}
	_, err := l.ensureRunning(proc{name: kubeRouterName, path: bin, args: []string{
		"--kubeconfig=" + l.kubeconfig(),
		"--run-firewall=true", "--run-router=false", "--run-service-proxy=false",
		"--hostname-override=" + c.cfg.NodeName,
		"--service-cluster-ip-range=" + c.cfg.ServiceCIDR,
		"--health-port=0", "--metrics-port=0",
		"--v=1",
	}})
	if err != nil {
		return fmt.Errorf("network policy agent: %w", err)
	}
	err = wait.PollUntilContextTimeout(ctx, pollInterval, waitTimeout, true, func(ctx context.Context) (bool, error) {
		if _, ok := l.livePID(kubeRouterName, bin); !ok {
			return false, fmt.Errorf("kube-router exited; end of %s:\n%s", l.logFile(kubeRouterName), tail(l.logFile(kubeRouterName), 15))
		}
		saved, err := command(ctx, "iptables-save", "-t", "filter")
		return err == nil && strings.Contains(saved, "-A FORWARD") && strings.Contains(saved, "-j KUBE-ROUTER-FORWARD"), nil
	})
	if err != nil {
		return fmt.Errorf("network policy agent: wait for kube-router's chains: %w", err)
	}
	return nil
}

// DownNetworkPolicyAgent stops kube-router and removes its chains and ipsets: the cluster's pods
// are no longer policed.
func (c *Cluster) DownNetworkPolicyAgent(ctx context.Context) error {
	l := newLayout(c.cfg.Dir)
	errs := []error{l.stop(kubeRouterName, stopGrace), sweepChains(ctx, kubeRouterChains), destroyIPSets(ctx)}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network policy agent down: %w", err)
	}
	return nil
}

// destroyIPSets destroys kube-router's ipsets (once no rule uses them).
func destroyIPSets(ctx context.Context) error {
	sets, err := leftoverIPSets(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range sets {
		// A rule kube-router wrote a moment ago may still use the set: retry briefly.
		err := wait.PollUntilContextTimeout(ctx, pollInterval, 5*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := command(ctx, "ipset", "destroy", s)
			return err == nil, nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("ipset destroy %s: %w", s, err))
		}
	}
	return errors.Join(errs...)
}

// leftoverIPSets lists kube-router's ipsets (none without the ipset tool: then
// UpNetworkPolicyAgent started no kube-router).
func leftoverIPSets(ctx context.Context) ([]string, error) {
	if _, err := exec.LookPath("ipset"); err != nil {
		return nil, nil
	}
	out, err := command(ctx, "ipset", "list", "-n")
	if err != nil {
		return nil, fmt.Errorf("ipset: %w", err)
	}
	var sets []string
	for _, name := range strings.Fields(out) {
		for _, p := range kubeRouterSets {
			if strings.HasPrefix(name, p) {
				sets = append(sets, name)
				break
			}
		}
	}
	return sets, nil
}
