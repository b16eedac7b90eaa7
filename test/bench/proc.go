package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process the bench started: its own process group, killed with the bench
// (Pdeathsig), its output in a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // valid after done
}

var (
	procsMu sync.Mutex
	procs   = map[*proc]struct{}{}
)

// procSpec is a process to start.
type procSpec struct {
	name, path string
	args       []string
	env        []string // added to the bench's environment
	dir, log   string
	stdout     *os.File // nil: the log
}

// startProc starts a process in its own group, its output appended to its log.
func startProc(s procSpec) (*proc, error) {
	name := s.name
	if err := os.MkdirAll(filepath.Dir(s.log), 0o755); err != nil {
		return nil, err
	}
	if s.dir != "" {
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return nil, err
		}
	}
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "=== bench %s: %s %s\n", time.Now().Format(time.RFC3339Nano), s.path, strings.Join(s.args, " "))
	cmd := exec.Command(s.path, s.args...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if s.stdout != nil {
		cmd.Stdout = s.stdout
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: s.log, done: make(chan struct{})}
	procsMu.Lock()
	procs[p] = struct{}{}
	procsMu.Unlock()
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		procsMu.Lock()
		delete(procs, p)
		procsMu.Unlock()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, waits up to grace, then kills the group; any
// descendant that outlives its parent (it should not) is killed too.
func (p *proc) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	desc := descendants(p.pid())
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	var err error
	select {
	case <-p.done:
	case <-time.After(grace):
		err = fmt.Errorf("%s did not stop within %s of SIGTERM; killed", p.name, grace)
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
	killLeftovers(desc)
	return err
}

// killLeftovers kills (group and process) whatever of pids still runs a second after its parent
// stopped: children of a stopped vkube must not keep ports.
func killLeftovers(pids []int) {
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(pid) {
			progress("killing leftover process %d (%s)", pid, comm(pid))
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// killAllProcs kills every process group the bench started (interrupt, fatal error).
func killAllProcs() {
	procsMu.Lock()
	var all []*proc
	for p := range procs {
		all = append(all, p)
	}
	procsMu.Unlock()
	for _, p := range all {
		desc := descendants(p.pid())
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		for _, d := range desc {
			_ = syscall.Kill(-d, syscall.SIGKILL)
			_ = syscall.Kill(d, syscall.SIGKILL)
		}
	}
	for _, p := range all {
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	}
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, state := statPPid(st)
	return state != "Z" && state != "X"
}

// statPPid parses /proc/PID/stat: the parent pid and the state letter.
func statPPid(stat []byte) (int, string) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, ""
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0, ""
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid, f[0]
}

// descendants lists every live process below pid (children, grandchildren, …).
func descendants(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		ppid, state := statPPid(st)
		if state == "Z" {
			continue
		}
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// comm is the executable name of pid (from argv[0], not truncated like /proc/PID/comm).
func comm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return "?"
	}
	return filepath.Base(string(bytes.SplitN(b, []byte{0}, 2)[0]))
}

// childByName is the first descendant of pid whose executable is name (0: none).
func childByName(pid int, name string) int {
	for _, d := range descendants(pid) {
		if comm(d) == name {
			return d
		}
	}
	return 0
}

// pss is a process's proportional set size from /proc/PID/smaps_rollup, in KiB: all of it, and
// the anonymous part (heap, stacks; the rest is mostly the executable's mapped pages).
type pss struct{ Total, Anon int64 }

func pssOf(pid int) (pss, error) {
	var p pss
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return p, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	found := false
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		switch key {
		case "Pss":
			p.Total, found = v, true
		case "Pss_Anon":
			p.Anon = v
		}
	}
	if !found {
		return p, fmt.Errorf("no Pss in /proc/%d/smaps_rollup", pid)
	}
	return p, nil
}

// treePSS sums the PSS of pid and its descendants, also per executable name.
func treePSS(pid int) (pss, map[string]pss, error) {
	var total pss
	byName := map[string]pss{}
	for _, p := range append([]int{pid}, descendants(pid)...) {
		v, err := pssOf(p)
		if err != nil {
			return total, nil, err
		}
		total.Total += v.Total
		total.Anon += v.Anon
		n := byName[comm(p)]
		n.Total += v.Total
		n.Anon += v.Anon
		byName[comm(p)] = n
	}
	return total, byName, nil
}

// memAvailableMiB is MemAvailable from /proc/meminfo.
func memAvailableMiB() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemAvailable:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kib / 1024
		}
	}
	return -1
}

// tailFile is the last n lines of a log, for error messages.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cpuSeconds is the user+system CPU time pids and their descendants have used so far.
func cpuSeconds(pids ...int) float64 {
	var total float64
	seen := map[int]bool{}
	for _, pid := range pids {
		for _, p := range append([]int{pid}, descendants(pid)...) {
			if !seen[p] {
				seen[p] = true
				total += ownCPUSeconds(p)
			}
		}
	}
	return total
}

// ownCPUSeconds is the user+system CPU time of pid alone (0 when it is gone).
func ownCPUSeconds(pid int) float64 {
	const hz = 100 // USER_HZ: clock ticks in /proc/PID/stat
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return float64(u+st) / hz
}

// rssMiB is pid's resident set (VmRSS) in MiB (0 when it is gone).
func rssMiB(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kib, _ := strconv.ParseFloat(f[0], 64)
				return kib / 1024
			}
		}
	}
	return 0
}
