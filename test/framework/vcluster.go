// Package framework runs `vkube start` for tests: one process per virtual cluster, its own data
// dir and ports, helpers to wait for it, reach it, kill it and find its children.
package framework

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// VCluster is one `vkube start` process under test.
type VCluster struct {
	t       testing.TB
	Name    string
	DataDir string
	Args    []string
	Env     []string
	Port    int
	Health  string
	Cmd     *exec.Cmd
	out     *syncBuffer
	Exited  chan struct{}
	bin     string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// New prepares (but does not start) a virtual cluster run by the vkube binary bin.
func New(t testing.TB, bin, name string, args ...string) *VCluster {
	t.Helper()
	return &VCluster{t: t, bin: bin, Name: name, DataDir: filepath.Join(t.TempDir(), "data"), Args: args, Port: FreePort(t), Health: fmt.Sprintf("127.0.0.1:%d", FreePort(t))}
}

// Start runs `vkube start` with the cluster's name, data dir, ports and Args.
func (v *VCluster) Start() {
	v.t.Helper()
	args := append([]string{"start", "--name", v.Name, "--data-dir", v.DataDir, "--port", strconv.Itoa(v.Port), "--health-address", v.Health}, v.Args...)
	v.Cmd = exec.Command(v.bin, args...)
	v.Cmd.Env = append(os.Environ(), v.Env...)
	v.out = &syncBuffer{}
	v.Cmd.Stdout, v.Cmd.Stderr = v.out, v.out
	if err := v.Cmd.Start(); err != nil {
		v.t.Fatalf("starting vkube: %v", err)
	}
	v.Exited = make(chan struct{})
	go func() { _ = v.Cmd.Wait(); close(v.Exited) }()
	v.t.Cleanup(func() {
		v.Stop()
		if v.t.Failed() {
			v.t.Logf("vkube %s output (tail):\n%s", v.Name, Tail(v.out.String(), 60))
		}
	})
}

// WaitReady waits until /readyz answers and the kubeconfig file exists.
func (v *VCluster) WaitReady(timeout time.Duration) {
	v.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		select {
		case <-v.Exited:
			return false, fmt.Errorf("vkube exited: %v", v.Cmd.ProcessState)
		default:
		}
		if _, err := os.Stat(v.Kubeconfig()); err != nil {
			return false, nil
		}
		return v.Readyz() == nil, nil
	})
	if err != nil {
		v.t.Fatalf("virtual cluster %s not ready after %s: %v\n%s", v.Name, timeout, err, Tail(v.out.String(), 40))
	}
}

// Readyz asks vkube's /readyz.
func (v *VCluster) Readyz() error {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + v.Health + "/readyz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("readyz %s", resp.Status)
	}
	return nil
}

// Kubeconfig is the admin kubeconfig vkube writes.
func (v *VCluster) Kubeconfig() string { return filepath.Join(v.DataDir, "kubeconfig.yaml") }

// RESTConfig is a client config from the admin kubeconfig, rate limits raised.
func (v *VCluster) RESTConfig() *rest.Config {
	v.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", v.Kubeconfig())
	if err != nil {
		v.t.Fatalf("kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	return cfg
}

// Client is a clientset for the virtual cluster.
func (v *VCluster) Client() *kubernetes.Clientset {
	v.t.Helper()
	c, err := kubernetes.NewForConfig(v.RESTConfig())
	if err != nil {
		v.t.Fatal(err)
	}
	return c
}

// Stop sends SIGTERM and waits for a clean exit.
func (v *VCluster) Stop() {
	if v.Cmd == nil || v.Cmd.Process == nil {
		return
	}
	select {
	case <-v.Exited:
		return
	default:
	}
	_ = v.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.Exited:
	case <-time.After(45 * time.Second):
		_ = v.Cmd.Process.Kill()
		<-v.Exited
		v.t.Errorf("vkube %s did not stop within 45s of SIGTERM", v.Name)
	}
}

// Kill9 kills vkube with SIGKILL and waits for it.
func (v *VCluster) Kill9() {
	_ = v.Cmd.Process.Kill()
	<-v.Exited
}

// ChildPIDs finds processes started for this data dir (their command lines name it).
func (v *VCluster) ChildPIDs(component string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == v.Cmd.Process.Pid {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		s := string(cmdline)
		if strings.Contains(s, v.DataDir+"/") && (component == "" || strings.Contains(strings.SplitN(s, "\x00", 2)[0], component)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// FreePort is a free loopback TCP port.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Tail is the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ReadFile reads a file or fails the test.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Output is everything the vkube process printed so far.
func (v *VCluster) Output() string { return v.out.String() }

// ChildArgs is the command line of this cluster's child component, space-separated.
func (v *VCluster) ChildArgs(component string) string {
	pids := v.ChildPIDs(component)
	if len(pids) == 0 {
		v.t.Fatalf("no %s child", component)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pids[0]))
	if err != nil {
		v.t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\x00", " ")
}
