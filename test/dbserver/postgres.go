package dbserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// StartPostgres starts a PostgreSQL server (Debian's, the newest /usr/lib/postgresql/*/bin) on a
// free loopback port with a fresh data dir, and a login role vkube with a random password that
// may CREATE DATABASE. It returns once the server accepts connections.
func StartPostgres(t testing.TB) *Server {
	t.Helper()
	s, err := LaunchPostgres(t)
	return must(t, s, err)
}

// StartPostgresOn is StartPostgres listening on host, an IPv4 address of this machine, instead of
// 127.0.0.1, and taking the vkube role's password from any client address: for clients that do
// not share the machine's loopback, such as pods of the host cluster (host: its node IP).
func StartPostgresOn(t testing.TB, host string) *Server {
	t.Helper()
	s, err := LaunchPostgresOn(t, host)
	return must(t, s, err)
}

// LaunchPostgres is StartPostgres for any Owner: the server runs until o's cleanups run. An error
// wrapping ErrUnavailable means PostgreSQL is not installed.
func LaunchPostgres(o Owner) (*Server, error) { return LaunchPostgresOn(o, loopback) }

// LaunchPostgresOn is StartPostgresOn for any Owner.
func LaunchPostgresOn(o Owner, host string) (*Server, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, unavailable(KindPostgres, err)
	}
	// PostgreSQL refuses to run as root: as root, run it as the postgres OS user.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		if cred, err = credentialOf("postgres"); err != nil {
			return nil, unavailable(KindPostgres, err)
		}
	}

	s, err := newServer(o, KindPostgres, "vkpg-", host)
	if err != nil {
		return nil, err
	}
	s.password = randomPassword()
	s.stopSignal = syscall.SIGINT  // fast shutdown: does not wait for clients to go
	s.killSignal = syscall.SIGQUIT // immediate shutdown: still frees shared memory
	data := filepath.Join(s.dir, "data")
	asPostgres := func(cmd *exec.Cmd) *exec.Cmd {
		cmd.Dir = s.dir
		cmd.Env = env([]string{"PG", "LC_", "LANG="}, "LC_ALL=C", "HOME="+s.dir)
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		return cmd
	}
	if cred != nil {
		if err := os.Chown(s.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("dbserver: %w", err)
		}
	}

	// Local (unix socket) connections are trusted: the test's own admin access as postgres.
	// TCP connections need a password: the product's access as vkube.
	if err := s.run(asPostgres(exec.Command(filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions"))); err != nil {
		return nil, fmt.Errorf("dbserver: initdb: %w", err)
	}
	if host != loopback {
		// initdb's host rules name only 127.0.0.1/32 and ::1/128. Clients of an address other
		// than loopback come from anywhere (a pod's IP): any address, still with the password.
		if err := appendFile(filepath.Join(data, "pg_hba.conf"),
			"# dbserver: listening on "+host+": password logins from any address\nhost all all 0.0.0.0/0 scram-sha-256\n"); err != nil {
			return nil, fmt.Errorf("dbserver: pg_hba.conf: %w", err)
		}
	}

	s.command = func() *exec.Cmd {
		return asPostgres(exec.Command(filepath.Join(bin, "postgres"),
			"-D", data, "-p", strconv.Itoa(s.Port), "-k", s.dir, "-h", s.Host,
			"-c", "shared_buffers=32MB",
			"-c", "huge_pages=off",
			"-c", "max_connections=200",
			"-c", "fsync=off", // test data: a graceful stop still writes everything out
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
			"-c", "max_wal_size=256MB",
		))
	}
	s.probe = func(ctx context.Context) error {
		if err := s.dialProbe(ctx); err != nil {
			return err
		}
		return pingSQL(ctx, "pgx", s.pgAdminDSN())
	}
	if err := s.firstStart(o, func() error {
		ports, err := freePorts(s.Host, 1)
		if err == nil {
			s.Port = ports[0]
		}
		return err
	}, nil); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := execSQL(ctx, "pgx", s.pgAdminDSN(),
		fmt.Sprintf("CREATE ROLE %s LOGIN CREATEDB PASSWORD '%s'", testUser, s.password)); err != nil {
		return nil, fmt.Errorf("dbserver: creating role %s: %w", testUser, err)
	}
	if err := pingSQL(ctx, "pgx", s.DSNFor("postgres")); err != nil {
		return nil, fmt.Errorf("dbserver: connecting as %s over TCP: %w", testUser, err)
	}
	return s, nil
}

// pgAdminDSN connects as the superuser over the unix socket.
func (s *Server) pgAdminDSN() string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable connect_timeout=5", s.dir, s.Port)
}

func (s *Server) pgDatabases(ctx context.Context) ([]string, error) {
	return queryStrings(ctx, "pgx", s.pgAdminDSN(), "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY datname")
}

// postgresBinDir is the bin dir of the newest PostgreSQL that Debian installed, else the dir of
// initdb on PATH.
func postgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "postgres")) && isExec(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if d := filepath.Dir(p); isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("postgres and initdb not found in /usr/lib/postgresql/*/bin or on PATH")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

func credentialOf(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("OS user %s: %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
