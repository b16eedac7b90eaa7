package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"
)

// vkubeCluster is one `vkube start` process.
type vkubeCluster struct {
	name    string
	dataDir string
	port    int
	health  string
	proc    *proc
	cfg     *rest.Config // set once ready
}

// startVkube runs `vkube start` with a fresh data dir under dir; args select the backend.
func startVkube(e *env, name, dir string, args, environ []string) (*vkubeCluster, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	v := &vkubeCluster{name: name, dataDir: filepath.Join(dir, "data"), port: ports[0], health: "127.0.0.1:" + strconv.Itoa(ports[1])}
	all := []string{"start", "--name", name, "--data-dir", v.dataDir, "--port", strconv.Itoa(v.port),
		"--health-address", v.health, "--kubernetes-version", e.kubeVersion}
	all = append(append(all, args...), e.vkubeArgs...)
	environ = append(append([]string{}, e.vkubeEnv...), environ...)
	v.proc, err = startProc(procSpec{name: "vkube " + name, path: e.vkubeBin, args: all, env: environ, dir: dir, log: filepath.Join(dir, "vkube.log")})
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (v *vkubeCluster) kubeconfig() string { return filepath.Join(v.dataDir, "kubeconfig.yaml") }

// readyz asks the supervisor's health endpoint.
func (v *vkubeCluster) readyz(ctx context.Context, timeout time.Duration) error {
	c := http.Client{Timeout: timeout}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+v.health+"/readyz", nil)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("readyz: %s", resp.Status)
	}
	return nil
}

// waitUsable polls until /readyz answers ok on the health address and the admin kubeconfig
// works for a real GET /api. It returns the time from began.
func (v *vkubeCluster) waitUsable(ctx context.Context, began time.Time, timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	var api *apiClient
	var last error
	for {
		if v.proc.exited() {
			return 0, fmt.Errorf("vkube %s exited (%v); log tail:\n%s", v.name, v.proc.err, tailFile(v.proc.log, 30))
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("vkube %s not usable within %s (last: %v); log tail:\n%s", v.name, timeout, last, tailFile(v.proc.log, 30))
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		last = v.readyz(ctx, 2*time.Second)
		if last == nil && api == nil {
			if _, err := os.Stat(v.kubeconfig()); err != nil {
				last = err
			} else if cfg, err := restConfig(v.kubeconfig()); err != nil {
				last = err
			} else if api, err = newAPIClient(cfg, 2*time.Second); err != nil {
				return 0, err
			} else {
				v.cfg = cfg
			}
		}
		if last == nil && api != nil {
			if last = api.get(ctx, "/api"); last == nil {
				return time.Since(began), nil
			}
		}
		time.Sleep(pollInterval)
	}
}

// stop sends SIGTERM (vkube stops its children in order) and waits.
func (v *vkubeCluster) stop() error {
	if v == nil || v.proc == nil {
		return nil
	}
	return v.proc.stop(60 * time.Second)
}

// freePorts returns n distinct loopback ports free at the time of the call.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// saveProfiles keeps the supervisor's heap profile (served with --profiling) in dir as heap.pb.gz,
// after a GC so that it counts live objects only. A failure is only reported: profiles are an aid.
func (v *vkubeCluster) saveProfiles(ctx context.Context, dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		progress("profiles: %v", err)
		return
	}
	c := http.Client{Timeout: time.Minute}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+v.health+"/debug/pprof/heap?gc=1", nil)
	resp, err := c.Do(req)
	if err != nil {
		progress("profiles: %v", err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		progress("profiles: heap: %s (is vkube started with --profiling?)", resp.Status)
		return
	}
	f, err := os.Create(filepath.Join(dir, "heap.pb.gz"))
	if err != nil {
		progress("profiles: %v", err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		progress("profiles: heap: %v", err)
		return
	}
	progress("profiles: %s", f.Name())
}
