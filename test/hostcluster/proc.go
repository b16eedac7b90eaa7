package hostcluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one component run as a detached process: its own session, output to a log file
// under Dir, its PID in a PID file under Dir. Nothing ties it to the process that started it.
type proc struct {
	name string
	path string
	args []string
	// env is added to the environment of the starting process.
	env []string
}

// ensureRunning starts p unless its PID file names a live process of p's binary.
func (l layout) ensureRunning(p proc) (started bool, err error) {
	if _, ok := l.livePID(p.name, p.path); ok {
		return false, nil
	}
	logf, err := os.OpenFile(l.logFile(p.name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return false, fmt.Errorf("start %s: %w", p.name, err)
	}
	fmt.Fprintf(logf, "==== %s %s %s\n", time.Now().Format(time.RFC3339), p.path, strings.Join(p.args, " "))
	cmd := exec.Command(p.path, p.args...)
	cmd.Dir = l.dir
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// A new session: no terminal signals from `make`, no process-group kill from a test runner.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return false, fmt.Errorf("start %s: %w", p.name, err)
	}
	// Reaping here keeps a child that dies while we still run from lingering as a zombie that
	// would look alive; once we exit, init adopts it.
	go func() {
		cmd.Wait()
		logf.Close()
	}()
	if err := os.WriteFile(l.pidFile(p.name), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		cmd.Process.Kill()
		return false, fmt.Errorf("start %s: %w", p.name, err)
	}
	return true, nil
}

// livePID returns the PID recorded for name if that process is alive and runs binary
// ("" accepts any binary, for Down, which may not know the path any more).
func (l layout) livePID(name, binary string) (int, bool) {
	data, err := os.ReadFile(l.pidFile(name))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	if !alive(pid) {
		return 0, false
	}
	if binary != "" && !runs(pid, binary) {
		// The PID was reused by an unrelated process after ours died.
		return 0, false
	}
	return pid, true
}

// alive is false for zombies, which kill(pid, 0) would report as present.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i >= 0 && i+2 < len(data) && data[i+2] != 'Z'
}

func runs(pid int, binary string) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	want, err := filepath.EvalSymlinks(binary)
	if err != nil {
		want = binary
	}
	// A binary replaced on disk (rebuilt host-addons) still runs under its old path.
	return strings.TrimSuffix(exe, " (deleted)") == want
}

// stopPID sends SIGTERM, waits up to grace, then SIGKILLs and waits for the end.
func stopPID(pid int, grace time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("stop pid %d: %w", pid, err)
	}
	if waitGone(pid, grace) {
		return nil
	}
	syscall.Kill(pid, syscall.SIGKILL)
	if !waitGone(pid, 5*time.Second) {
		return fmt.Errorf("stop pid %d: still running after SIGKILL", pid)
	}
	return nil
}

func waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for alive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// stop ends the component name if it runs and forgets its PID file.
func (l layout) stop(name string, grace time.Duration) error {
	if pid, ok := l.livePID(name, ""); ok {
		if err := stopPID(pid, grace); err != nil {
			return fmt.Errorf("stop %s: %w", name, err)
		}
	}
	if err := os.Remove(l.pidFile(name)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	return nil
}
