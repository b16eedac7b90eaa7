package hostcluster

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const cgroupFS = "/sys/fs/cgroup"

// cgroupRoot is kubelet's cgroupRoot: pods live under it, not under the machine's /kubepods,
// so Down removes exactly this cluster's cgroups.
func (c Config) cgroupRoot() string { return "vkube-" + c.NodeName }

// cgroupDirs are the cgroup's directory in every mounted hierarchy (v1 controllers, the
// name=systemd hierarchy, the hybrid cgroup2 mount: runc creates it in all of them).
func cgroupDirs(name string) []string {
	mounts, _ := os.ReadDir(cgroupFS)
	var dirs []string
	for _, m := range mounts {
		if exists(filepath.Join(cgroupFS, m.Name(), "cgroup.procs")) {
			dirs = append(dirs, filepath.Join(cgroupFS, m.Name(), name))
		}
	}
	return dirs
}

// ensureCgroupRoot creates the root in every hierarchy; kubelet refuses a cgroupRoot that is
// missing in one.
func (c Config) ensureCgroupRoot() error {
	for _, d := range cgroupDirs(c.cgroupRoot()) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("cgroups: %w", err)
		}
		if filepath.Base(filepath.Dir(d)) == "cpuset" {
			// A new v1 cpuset starts with no CPUs and no memory nodes: nothing could join it.
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if cur, _ := os.ReadFile(filepath.Join(d, f)); strings.TrimSpace(string(cur)) != "" {
					continue
				}
				parent, err := os.ReadFile(filepath.Join(filepath.Dir(d), f))
				if err != nil {
					return fmt.Errorf("cgroups: %w", err)
				}
				if err := os.WriteFile(filepath.Join(d, f), parent, 0o644); err != nil {
					return fmt.Errorf("cgroups: %w", err)
				}
			}
		}
	}
	return nil
}

// killCgroup SIGKILLs every process in the cgroup trees until they are empty.
func killCgroup(name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids := cgroupPIDs(name)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroups: %d processes left in %s, e.g. %s", len(pids), name, describe(pids[0]))
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func cgroupPIDs(name string) []int {
	var pids []int
	for _, root := range cgroupDirs(name) {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			data, _ := os.ReadFile(filepath.Join(path, "cgroup.procs"))
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil && !slices.Contains(pids, pid) {
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// removeCgroup removes the cgroup trees, children first; a cgroup still holding a process is
// an error.
func removeCgroup(name string) error {
	var errs []error
	for _, root := range cgroupDirs(name) {
		var dirs []string
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		for _, d := range slices.Backward(dirs) {
			if err := syscall.Rmdir(d); err != nil && err != syscall.ENOENT {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cgroups: %w (and %d more)", errs[0], len(errs)-1)
	}
	return nil
}
