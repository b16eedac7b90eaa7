package hostcluster

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ourBinaries are the programs the cluster runs with paths inside Dir on their command line.
var ourBinaries = []string{
	"containerd", "containerd-shim-runc-v2", "runc", "etcd", "kube-apiserver", "kube-controller-manager",
	"kube-scheduler", "kubelet", "kube-proxy", "coredns", addonsName,
}

// processesUnder lists live processes of the cluster in dir: those whose binary lies inside it,
// and the cluster's programs (components, containerd's shims) whose arguments name a path inside
// it. A shell tailing a log under dir is not one of them.
func processesUnder(dir string) []int {
	prefix := filepath.Clean(dir) + "/"
	skip := ancestors()
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || skip[pid] || !alive(pid) {
			continue
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil {
			continue
		}
		exe = strings.TrimSuffix(exe, " (deleted)")
		if strings.HasPrefix(exe, prefix) {
			pids = append(pids, pid)
			continue
		}
		if !slices.Contains(ourBinaries, filepath.Base(exe)) {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmdline, []byte(prefix)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func ancestors() map[int]bool {
	seen := map[int]bool{}
	for pid := os.Getpid(); pid > 1 && !seen[pid]; pid = parentOf(pid) {
		seen[pid] = true
	}
	return seen
}

func parentOf(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// describe is "pid (cmdline)" for error messages about leftovers.
func describe(pid int) string {
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return fmt.Sprintf("%d (%s)", pid, strings.TrimSpace(string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))))
}

// listeningSockets lists the paths of the unix sockets pid holds open: a SIGKILLed containerd
// shim leaves its socket under /run/containerd/s behind, named by a hash Down cannot recompute.
func listeningSockets(pid int) []string {
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	data, _ := os.ReadFile("/proc/net/unix")
	var paths []string
	// Columns: Num RefCount Protocol Flags Type St Inode [Path].
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 8 && inodes[f[6]] && strings.HasPrefix(f[7], "/") {
			paths = append(paths, f[7])
		}
	}
	return paths
}
