package integration

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

// vcluster is one `vkube start` process under test.
type vcluster struct {
	t       *testing.T
	name    string
	dataDir string
	args    []string
	env     []string
	port    int
	health  string
	cmd     *exec.Cmd
	out     *syncBuffer
	exited  chan struct{}
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

// newVCluster prepares (but does not start) a virtual cluster with its own data dir and ports.
func newVCluster(t *testing.T, name string, args ...string) *vcluster {
	t.Helper()
	return &vcluster{t: t, name: name, dataDir: filepath.Join(t.TempDir(), "data"), args: args, port: freePort(t), health: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
}

func (v *vcluster) start() {
	v.t.Helper()
	args := append([]string{"start", "--name", v.name, "--data-dir", v.dataDir, "--port", strconv.Itoa(v.port), "--health-address", v.health}, v.args...)
	v.cmd = exec.Command(vkubeBin, args...)
	v.cmd.Env = append(os.Environ(), v.env...)
	v.out = &syncBuffer{}
	v.cmd.Stdout, v.cmd.Stderr = v.out, v.out
	if err := v.cmd.Start(); err != nil {
		v.t.Fatalf("starting vkube: %v", err)
	}
	v.exited = make(chan struct{})
	go func() { _ = v.cmd.Wait(); close(v.exited) }()
	v.t.Cleanup(func() {
		v.stop()
		if v.t.Failed() {
			v.t.Logf("vkube %s output (tail):\n%s", v.name, tail(v.out.String(), 60))
		}
	})
}

// waitReady waits until /readyz answers and the kubeconfig file exists.
func (v *vcluster) waitReady(timeout time.Duration) {
	v.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		select {
		case <-v.exited:
			return false, fmt.Errorf("vkube exited: %v", v.cmd.ProcessState)
		default:
		}
		if _, err := os.Stat(v.kubeconfig()); err != nil {
			return false, nil
		}
		return v.readyz() == nil, nil
	})
	if err != nil {
		v.t.Fatalf("virtual cluster %s not ready after %s: %v\n%s", v.name, timeout, err, tail(v.out.String(), 40))
	}
}

func (v *vcluster) readyz() error {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + v.health + "/readyz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("readyz %s", resp.Status)
	}
	return nil
}

func (v *vcluster) kubeconfig() string { return filepath.Join(v.dataDir, "kubeconfig.yaml") }

func (v *vcluster) restConfig() *rest.Config {
	v.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", v.kubeconfig())
	if err != nil {
		v.t.Fatalf("kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	return cfg
}

func (v *vcluster) client() *kubernetes.Clientset {
	v.t.Helper()
	c, err := kubernetes.NewForConfig(v.restConfig())
	if err != nil {
		v.t.Fatal(err)
	}
	return c
}

// stop sends SIGTERM and waits for a clean exit.
func (v *vcluster) stop() {
	if v.cmd == nil || v.cmd.Process == nil {
		return
	}
	select {
	case <-v.exited:
		return
	default:
	}
	_ = v.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.exited:
	case <-time.After(45 * time.Second):
		_ = v.cmd.Process.Kill()
		<-v.exited
		v.t.Errorf("vkube %s did not stop within 45s of SIGTERM", v.name)
	}
}

func (v *vcluster) kill9() {
	_ = v.cmd.Process.Kill()
	<-v.exited
}

// childPIDs finds processes started for this data dir (their command lines name it).
func (v *vcluster) childPIDs(component string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == v.cmd.Process.Pid {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		s := string(cmdline)
		if strings.Contains(s, v.dataDir+"/") && (component == "" || strings.Contains(strings.SplitN(s, "\x00", 2)[0], component)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
