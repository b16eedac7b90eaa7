package hostcluster

import (
	"fmt"
	"os"
	"strings"
)

// claimFile names the dir of the host cluster this machine runs. There can be only one: the
// clusters' kube-proxies would fight over the same iptables chains. It lives on /run, so a
// reboot, which ends every process, also ends the claim.
const claimFile = "/run/vkube-host-cluster"

// claim makes dir the machine's host cluster unless another dir's cluster still runs.
func claim(dir string) error {
	data, err := os.ReadFile(claimFile)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("claim the machine: %w", err)
	}
	if other := strings.TrimSpace(string(data)); other != "" && other != dir {
		if c, err := Open(other); err == nil && len(c.PIDs()) > 0 {
			return fmt.Errorf("another host cluster runs on this machine, from %s: stop it with `make host-down HOST_DIR=%s` (one host cluster per machine: they would share iptables chains)", other, other)
		}
	}
	if err := os.WriteFile(claimFile, []byte(dir+"\n"), 0o644); err != nil {
		return fmt.Errorf("claim the machine: %w", err)
	}
	return nil
}

// release gives up dir's claim on the machine.
func release(dir string) error {
	data, err := os.ReadFile(claimFile)
	if err != nil || strings.TrimSpace(string(data)) != dir {
		return nil
	}
	if err := os.Remove(claimFile); err != nil {
		return fmt.Errorf("release the machine: %w", err)
	}
	return nil
}
