package hostcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Memory is the resident memory of the cluster in bytes: each component's RSS, the shims' RSS
// together under "containerd-shims", and the pods' memory cgroup usage under "pods".
func (c *Cluster) Memory() map[string]uint64 {
	mem := map[string]uint64{}
	for name, pid := range c.PIDs() {
		mem[name] = rss(pid)
	}
	for _, pid := range processesUnder(c.cfg.Dir) {
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); strings.HasPrefix(filepath.Base(exe), "containerd-shim") {
			mem["containerd-shims"] += rss(pid)
		}
	}
	usage, err := os.ReadFile(filepath.Join(cgroupFS, "memory", c.cfg.cgroupRoot(), "memory.usage_in_bytes"))
	if err == nil {
		mem["pods"], _ = strconv.ParseUint(strings.TrimSpace(string(usage)), 10, 64)
	}
	return mem
}

func rss(pid int) uint64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
