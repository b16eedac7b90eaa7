package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// InternalProxyFlag is the hidden flag of `vkube connect` that runs only the port-forward: the
// detached child that --background starts.
const InternalProxyFlag = "internal-proxy-only"

// backgroundDir holds the background proxies' logs and pid files.
func backgroundDir() (string, error) {
	dir := os.Getenv("XDG_CACHE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory for the background proxy: %w", err)
		}
		dir = filepath.Join(home, ".cache")
	}
	return filepath.Join(dir, "vkube", "connect"), nil
}

// backgroundPaths are the log and pid files of the background proxy of namespace/name.
func backgroundPaths(namespace, name string) (logPath, pidPath string, err error) {
	dir, err := backgroundDir()
	if err != nil {
		return "", "", err
	}
	base := filepath.Join(dir, namespace+"-"+name)
	return base + ".log", base + ".pid", nil
}

// startBackground starts a detached `vkube connect --internal-proxy-only` for this cluster
// (replacing an older one) and returns its local port once it answers.
func (s *session) startBackground(ctx context.Context) (int, error) {
	// Fail here, with the clear message, rather than in the child's log.
	if _, err := waitReadyPod(ctx, s.host, s.namespace, s.o.Name, s.o.ReadyTimeout, s.errOut); err != nil {
		return 0, err
	}
	if err := StopBackground(s.namespace, s.o.Name); err != nil {
		return 0, err
	}
	logPath, pidPath, err := backgroundPaths(s.namespace, s.o.Name)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return 0, fmt.Errorf("background proxy: %w", err)
	}
	port := s.o.LocalPort
	if port == 0 {
		if port, err = freePort(); err != nil {
			return 0, fmt.Errorf("background proxy: %w", err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("background proxy: %w", err)
	}
	args := []string{"connect", s.o.Name, "--namespace", s.namespace, "--local-port", strconv.Itoa(port), "--" + InternalProxyFlag}
	if s.kubeconfigFlag != "" {
		args = append(args, "--kubeconfig", s.kubeconfigFlag)
	}
	// Pinned: the current context is about to become the virtual cluster's.
	if s.hostContext != "" {
		args = append(args, "--context", s.hostContext)
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("background proxy: %w", err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	logFile.Close()
	if err != nil {
		return 0, fmt.Errorf("start background proxy: %w", err)
	}
	if err := os.WriteFile(pidPath, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		_ = cmd.Process.Kill()
		return 0, fmt.Errorf("background proxy: %w", err)
	}
	// Reaped here if this process lives on (a library caller); orphaned to init otherwise.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	deadline := time.NewTimer(s.o.ReadyTimeout + 30*time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
			c.Close()
			return port, nil
		}
		select {
		case err := <-exited:
			removePidFile(pidPath, cmd.Process.Pid)
			return 0, fmt.Errorf("background proxy exited (%v): %s", err, lastLine(logPath))
		case <-deadline.C:
			_ = StopBackground(s.namespace, s.o.Name)
			return 0, fmt.Errorf("background proxy did not listen on 127.0.0.1:%d in time; see %s", port, logPath)
		case <-ctx.Done():
			_ = StopBackground(s.namespace, s.o.Name)
			return 0, ctx.Err()
		case <-tick.C:
		}
	}
}

// StopBackground stops the background proxy of virtual cluster name in namespace, if one runs.
func StopBackground(namespace, name string) error {
	_, pidPath, err := backgroundPaths(namespace, name)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(pidPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop background proxy: %w", err)
	}
	defer os.Remove(pidPath)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || !isProxy(pid, namespace, name) {
		return nil
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return nil // gone already
	}
	for i := 0; i < 50; i++ {
		if p.Signal(syscall.Signal(0)) != nil || !isProxy(pid, namespace, name) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop background proxy (pid %d): %w", pid, err)
	}
	return nil
}

// isProxy guards against a recycled pid: on Linux the command line must be this cluster's proxy.
func isProxy(pid int, namespace, name string) bool {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		return true // no procfs to tell
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(data) == 0 { // gone, or a zombie
		return false
	}
	args := bytes.Split(bytes.TrimRight(data, "\x00"), []byte{0})
	var flag, hasName, hasNS bool
	for i, a := range args {
		s := string(a)
		flag = flag || s == "--"+InternalProxyFlag
		hasName = hasName || s == name
		hasNS = hasNS || (s == namespace && i > 0 && (string(args[i-1]) == "--namespace" || string(args[i-1]) == "-n"))
	}
	return flag && hasName && hasNS
}

// removePidFile removes pidPath if it still names pid.
func removePidFile(pidPath string, pid int) {
	if data, err := os.ReadFile(pidPath); err == nil && strings.TrimSpace(string(data)) == strconv.Itoa(pid) {
		_ = os.Remove(pidPath)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lastLine is the last non-empty line of a log file, or where to find it.
func lastLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "see " + path
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l + " (log " + path + ")"
	}
	return "see " + path
}
