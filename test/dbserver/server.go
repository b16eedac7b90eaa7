// Package dbserver starts real datastore servers for integration tests: PostgreSQL, MariaDB and
// etcd, each a child process the test owns, listening on free loopback ports (or on an address
// the test names, for clients that cannot reach the machine's loopback, such as pods), with its
// data in a temp dir. The process dies with the test (its own process group, Pdeathsig SIGKILL) and is
// killed, and its data removed, by t.Cleanup. Stop and Start simulate an outage: the data and
// the port are kept.
//
// The servers come from Debian packages installed by hack/test-deps.sh. When one is missing the
// Start* functions skip the test, or fail it when CI=true.
//
// Programs that are not tests (the benchmark) use the Launch* functions instead: they take an
// Owner, anything that registers cleanups and logs, and return errors rather than failing a test.
// The *On variants (StartPostgresOn, LaunchEtcdOn, …) listen on a given address instead of
// 127.0.0.1: e2e tests give the host cluster's node IP, which pods reach.
package dbserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Kinds of Server.
const (
	KindPostgres = "postgres"
	KindMariaDB  = "mariadb"
	KindEtcd     = "etcd"
)

const (
	startTimeout = 90 * time.Second // a busy 2-core CI machine can be slow
	stopTimeout  = 60 * time.Second
	probeTimeout = 5 * time.Second
	startTries   = 3 // first start only: a new port when the free one was taken meanwhile
	testUser     = "vkube"
	loopback     = "127.0.0.1" // where the servers listen unless an *On function names another address
)

// Owner is what a Server needs from whoever runs it: a place to register the cleanup that kills
// the server and removes its data, and a log. testing.TB satisfies it. An Owner that also has a
// Failed() bool method gets the server's log tail logged at cleanup when it reports true.
type Owner interface {
	Cleanup(func())
	Logf(format string, args ...any)
}

// ErrUnavailable marks a Launch* error caused by a missing server binary (hack/test-deps.sh
// installs them), as opposed to a server that failed to start.
var ErrUnavailable = errors.New("dbserver: server not available")

// Server is a database or etcd server process the test owns, on a free port of its address, with
// its data in a temp dir.
type Server struct {
	Kind string // KindPostgres, KindMariaDB or KindEtcd
	Host string // the address it listens on: 127.0.0.1, or the one given to an *On function
	Port int

	password string
	dir      string // temp dir: data, unix socket, log; short for the socket path limit
	logPath  string
	created  time.Time

	command    func() *exec.Cmd                // the server process, not yet started
	probe      func(ctx context.Context) error // nil once the server serves clients
	stopSignal syscall.Signal                  // graceful stop keeping the data
	killSignal syscall.Signal                  // at cleanup, before SIGKILL to the group

	mu   sync.Mutex
	proc *process // nil when stopped
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process is reaped
	err  error         // its exit, valid after done
}

// Password is the password of the vkube user (empty for etcd).
func (s *Server) Password() string { return s.password }

// DSN is the server-level data source name, naming no database:
// postgres://vkube:<pw>@HOST:PORT/?sslmode=disable, mysql://vkube:<pw>@tcp(HOST:PORT)/
// or, for etcd, http://HOST:PORT, HOST being 127.0.0.1 unless an *On function named another. Note that PostgreSQL clients connecting with it use the
// database named like the user, "vkube", which does not exist: server-level work connects to
// DSNFor("postgres").
func (s *Server) DSN() string { return s.DSNFor("") }

// DSNFor is DSN naming database db. For etcd it is DSN.
func (s *Server) DSNFor(db string) string {
	hostPort := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	switch s.Kind {
	case KindPostgres:
		return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", testUser, s.password, hostPort, db)
	case KindMariaDB:
		return fmt.Sprintf("mysql://%s:%s@tcp(%s)/%s", testUser, s.password, hostPort, db)
	default:
		return "http://" + hostPort
	}
}

// Databases lists the server's databases: for PostgreSQL the non-template ones (postgres and
// those created since), for MariaDB all that SHOW DATABASES lists (system schemas included).
func (s *Server) Databases() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch s.Kind {
	case KindPostgres:
		return s.pgDatabases(ctx)
	case KindMariaDB:
		return s.mariaDBDatabases(ctx)
	default:
		return nil, fmt.Errorf("dbserver: %s has no databases", s.Kind)
	}
}

// CreateDatabase makes a database of the user's, as an admin would.
func (s *Server) CreateDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch s.Kind {
	case KindPostgres:
		return execSQL(ctx, "pgx", s.pgAdminDSN(), "CREATE DATABASE "+name)
	case KindMariaDB:
		return execSQL(ctx, "mysql", s.mariaDBAdminDSN(), "CREATE DATABASE "+name)
	default:
		return fmt.Errorf("dbserver: %s has no databases", s.Kind)
	}
}

// Stop stops the server gracefully and waits for it to exit; its data and port are kept for
// Start. Stopping a stopped server does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	_ = p.cmd.Process.Signal(s.stopSignal)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		killGroup(p)
		<-p.done
		return fmt.Errorf("dbserver: %s on port %d did not stop within %s of %v and was killed; log tail:\n%s",
			s.Kind, s.Port, stopTimeout, s.stopSignal, s.logTail())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == s.stopSignal {
			return nil
		}
		return fmt.Errorf("dbserver: %s on port %d stopped with %v; log tail:\n%s", s.Kind, s.Port, p.err, s.logTail())
	}
	return p.err
}

// Start starts a stopped server again on the same port and data, and returns once it accepts
// connections. Starting a running server does nothing.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		select {
		case <-s.proc.done: // died on its own: start it again
		default:
			return nil
		}
	}
	return s.startLocked()
}

func (s *Server) startLocked() error {
	p, err := s.launch()
	if err != nil {
		return err
	}
	s.proc = p
	var last error
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		select {
		case <-p.done:
			return false, fmt.Errorf("exited during start-up: %v", p.err)
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		last = s.probe(pctx)
		return last == nil, nil
	})
	if err != nil {
		if last != nil && ctx.Err() != nil {
			err = fmt.Errorf("not ready within %s: %v", startTimeout, last)
		}
		s.killLocked()
		return fmt.Errorf("dbserver: %s on port %d: %v; log tail:\n%s", s.Kind, s.Port, err, s.logTail())
	}
	return nil
}

// launch starts the server process in its own process group, dying with this process, its
// output appended to the log.
func (s *Server) launch() (*process, error) {
	cmd := s.command()
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "=== dbserver %s: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(cmd.Args, " "))
	cmd.Stdout, cmd.Stderr = log, log
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("dbserver: starting %s: %w", s.Kind, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}

func setProcAttr(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// killLocked ends the running process, if any: killSignal first (PostgreSQL's immediate
// shutdown still frees its shared memory), then SIGKILL to the whole group.
func (s *Server) killLocked() {
	p := s.proc
	if p == nil {
		return
	}
	s.proc = nil
	if s.killSignal != syscall.SIGKILL {
		_ = p.cmd.Process.Signal(s.killSignal)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	}
	killGroup(p)
	<-p.done
}

// killGroup kills the process group of a process not yet reaped (once it is, its id may name
// someone else's group).
func killGroup(p *process) {
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// firstStart starts a new server, picking free ports (pick sets them) again when another process
// took the port between the pick and the bind. reset undoes what a failed try left in the data.
func (s *Server) firstStart(o Owner, pick func() error, reset func()) error {
	began := time.Now()
	var err error
	for try := 1; try <= startTries; try++ {
		if err = pick(); err != nil {
			break
		}
		s.mu.Lock()
		err = s.startLocked()
		s.mu.Unlock()
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "address already in use") {
			break
		}
		if reset != nil {
			reset()
		}
	}
	if err != nil {
		return fmt.Errorf("dbserver: starting %s: %w", s.Kind, err)
	}
	o.Logf("dbserver: %s ready on %s:%d in %s, %s of it setting up the data dir (in %s)", s.Kind, s.Host, s.Port,
		time.Since(s.created).Round(time.Millisecond), began.Sub(s.created).Round(time.Millisecond), s.dir)
	return nil
}

// newServer makes the temp dir and registers the cleanup that kills the process and removes it.
// The dir is directly under a short temp root so unix socket paths stay within 107 bytes.
func newServer(o Owner, kind, prefix, host string) (*Server, error) {
	if ip := net.ParseIP(host); ip == nil || ip.To4() == nil {
		// IPv4 only: the DSNs and pg_hba rules are written for it.
		return nil, fmt.Errorf("dbserver: %s: listen address %q is not an IPv4 address", kind, host)
	}
	root := os.TempDir()
	if len(root) > 40 {
		root = "/tmp"
	}
	dir, err := os.MkdirTemp(root, prefix)
	if err != nil {
		return nil, fmt.Errorf("dbserver: %w", err)
	}
	s := &Server{Kind: kind, Host: host, dir: dir, logPath: dir + "/server.log", created: time.Now(), stopSignal: syscall.SIGTERM, killSignal: syscall.SIGKILL}
	o.Cleanup(func() {
		s.mu.Lock()
		s.killLocked()
		s.mu.Unlock()
		if f, ok := o.(interface{ Failed() bool }); ok && f.Failed() {
			o.Logf("dbserver: %s log tail:\n%s", kind, s.logTail())
		}
		if err := os.RemoveAll(dir); err != nil {
			o.Logf("dbserver: removing %s: %v", dir, err)
		}
	})
	return s, nil
}

// unavailable wraps the error of a missing prerequisite in ErrUnavailable.
func unavailable(kind string, err error) error {
	return fmt.Errorf("%w: %s (%v): run hack/test-deps.sh", ErrUnavailable, kind, err)
}

// must is a Launch* result for a test: the server, or the test skipped (failed under CI=true)
// when the server is not installed, or failed when it did not start.
func must(t testing.TB, s *Server, err error) *Server {
	t.Helper()
	switch {
	case err == nil:
		return s
	case errors.Is(err, ErrUnavailable) && os.Getenv("CI") != "true":
		t.Skip(err.Error())
	default:
		t.Fatal(err.Error())
	}
	return nil
}

func lookPath(names ...string) (map[string]string, error) {
	paths := map[string]string{}
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			return nil, fmt.Errorf("%s not found", n)
		}
		paths[n] = p
	}
	return paths, nil
}

// freePorts returns n distinct ports of host free at the time of the call.
func freePorts(host string, n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomPassword() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dialProbe succeeds once the TCP port accepts connections.
func (s *Server) dialProbe(ctx context.Context) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)))
	if err != nil {
		return err
	}
	return c.Close()
}

// logTail is the end of the server log, for failure messages.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// run runs a set-up command (initdb, mariadb-install-db) with its output in the log.
func (s *Server) run(cmd *exec.Cmd) error {
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	fmt.Fprintf(log, "=== dbserver %s: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(cmd.Args, " "))
	cmd.Stdout, cmd.Stderr = log, log
	setProcAttr(cmd)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v; log tail:\n%s", cmd.Args[0], err, s.logTail())
	}
	return nil
}

// env is this process's environment without the variables that would steer the server or its
// tools (prefixes), plus extra.
func env(prefixes []string, extra ...string) []string {
	var out []string
next:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}
