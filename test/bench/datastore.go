package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/binaries"
	"vkube.io/vkube/test/dbserver"
)

// The bare control plane's datastore is the upstream server a user runs by hand in front of
// kube-apiserver, with its default flags (only addresses are chosen, so that runs do not collide):
//   - sqlite, PostgreSQL, MariaDB: kine's own server (hack/kine-server.sh builds it the way kine's
//     release is built), `kine --listen-address … [--endpoint DSN]`; sqlite is its default
//     endpoint, ./db/state.db;
//   - etcd: etcd's own server (hack/etcd-server.sh), started as Kubernetes' hack/local-up-cluster.sh
//     starts it: plain HTTP on loopback, nothing else set.
//
// Never vkube's backend package: the ratios compare vkube with what it replaces.

// datastoreSpec is the bare datastore of one backend.
type datastoreSpec struct {
	Kind backend.Kind
	DSN  string // kine's --endpoint for a database server, naming the run's database
}

// startDatastore starts the datastore process in dir and returns once its client port accepts
// connections, as a unit ordered after it would start.
func startDatastore(ctx context.Context, spec datastoreSpec, dir string) (*proc, backend.Endpoint, error) {
	var ep backend.Endpoint
	ports, err := freePorts(3)
	if err != nil {
		return nil, ep, err
	}
	client := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	s := procSpec{dir: filepath.Join(dir, "datastore"), log: filepath.Join(dir, "datastore.log")}
	switch spec.Kind {
	case backend.SQLite, backend.Postgres, backend.MySQL:
		if s.path, err = kineServer(); err != nil {
			return nil, ep, err
		}
		s.name = "bare kine"
		s.args = []string{"--listen-address", client, "--metrics-bind-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))}
		if spec.DSN != "" {
			s.args = append(s.args, "--endpoint", spec.DSN)
		}
	case backend.EtcdEmbedded:
		if s.path, err = etcdServer(); err != nil {
			return nil, ep, err
		}
		s.name = "bare etcd"
		url := "http://" + client
		peer := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2]))
		s.args = []string{"--data-dir", filepath.Join(s.dir, "data"), "--listen-client-urls", url, "--advertise-client-urls", url,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "default=" + peer}
	default:
		return nil, ep, fmt.Errorf("no bare datastore for backend %q", spec.Kind)
	}
	p, err := startProc(s)
	if err != nil {
		return nil, ep, err
	}
	if err := waitListening(ctx, p, client, 2*time.Minute); err != nil {
		_ = p.stop(10 * time.Second)
		return nil, ep, err
	}
	return p, backend.Endpoint{Servers: []string{"http://" + client}}, nil
}

// waitListening polls until addr accepts a TCP connection or p exits.
func waitListening(ctx context.Context, p *proc, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if p.exited() {
			return fmt.Errorf("%s exited (%v); log tail:\n%s", p.name, p.err, tailFile(p.log, 20))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s within %s; log tail:\n%s", p.name, addr, timeout, tailFile(p.log, 20))
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var kineOnce = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("hack/kine-server.sh").Output()
	if err != nil {
		return "", fmt.Errorf("hack/kine-server.sh (builds kine's own server, the bare datastore): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
})

// kineServer is kine's own server binary, built into the cache by hack/kine-server.sh (run
// here too, so that `go run ./test/bench` alone works; it reuses a built binary).
func kineServer() (string, error) { return kineOnce() }

// etcdServer is etcd's own server binary, built into the cache by hack/etcd-server.sh.
func etcdServer() (string, error) {
	p := filepath.Join(binaries.CacheDir(), "etcd", dbserver.EtcdVersion, "etcd")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no etcd server at %s: run hack/etcd-server.sh (make test-deps does)", p)
	}
	return p, nil
}

// owner is a dbserver.Owner for a program: cleanups run LIFO when run is called.
type owner struct {
	mu  sync.Mutex
	fns []func()
}

var _ dbserver.Owner = (*owner)(nil)

func (o *owner) Cleanup(f func()) {
	o.mu.Lock()
	o.fns = append(o.fns, f)
	o.mu.Unlock()
}

func (o *owner) Logf(format string, args ...any) { progress(format, args...) }

func (o *owner) run() {
	o.mu.Lock()
	fns := o.fns
	o.fns = nil
	o.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}
