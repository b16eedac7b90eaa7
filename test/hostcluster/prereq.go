package hostcluster

import (
	"fmt"
	"os"
	"strings"
)

// PrerequisiteError lists what this machine lacks to run the host cluster.
type PrerequisiteError struct {
	Missing []string
}

func (e *PrerequisiteError) Error() string {
	return fmt.Sprintf("host cluster prerequisites missing: %s; get them with: %s",
		strings.Join(e.Missing, "; "), PrerequisiteHint)
}

// PrerequisiteHint is the command that installs and builds everything the host cluster needs.
const PrerequisiteHint = "make host-up (or: hack/host-deps.sh && hack/etcd-server.sh && " +
	"hack/kube-binaries.sh v1.34.2 kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy && hack/coredns.sh), as root"

// CheckPrerequisites returns a *PrerequisiteError when the machine cannot run the cluster of c.
func CheckPrerequisites(c Config) error {
	c = c.withDefaults()
	_, missing := findBinaries(c.KubeVersion)
	if os.Geteuid() != 0 {
		missing = append([]string{"root (kubelet, containerd and iptables need it)"}, missing...)
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err != nil {
		// The kubelet and containerd configs here are written for cgroup v1 with cgroupfs.
		missing = append(missing, "cgroup v1 memory hierarchy at /sys/fs/cgroup/memory")
	}
	if len(missing) > 0 {
		return &PrerequisiteError{Missing: missing}
	}
	return nil
}
