package dbserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql" // database/sql driver "mysql"
)

// StartMariaDB starts a MariaDB server (Debian's mariadbd) on a free loopback port with a fresh
// data dir, and a user vkube@'%' with a random password and all privileges (so it may CREATE
// DATABASE). It returns once the server accepts connections.
func StartMariaDB(t testing.TB) *Server {
	t.Helper()
	s, err := LaunchMariaDB(t)
	return must(t, s, err)
}

// StartMariaDBOn is StartMariaDB listening on host, an IPv4 address of this machine, instead of
// 127.0.0.1 (the vkube user may log in from any address): for clients that do not share the
// machine's loopback, such as pods of the host cluster (host: its node IP).
func StartMariaDBOn(t testing.TB, host string) *Server {
	t.Helper()
	s, err := LaunchMariaDBOn(t, host)
	return must(t, s, err)
}

// LaunchMariaDB is StartMariaDB for any Owner: the server runs until o's cleanups run. An error
// wrapping ErrUnavailable means MariaDB is not installed.
func LaunchMariaDB(o Owner) (*Server, error) { return LaunchMariaDBOn(o, loopback) }

// LaunchMariaDBOn is StartMariaDBOn for any Owner.
func LaunchMariaDBOn(o Owner, host string) (*Server, error) {
	bins, err := lookPath("mariadbd", "mariadb-install-db")
	if err != nil {
		// Debian keeps mariadbd in /usr/sbin, which a non-root PATH may lack.
		bins, err = lookPath("/usr/sbin/mariadbd", "mariadb-install-db")
		if err == nil {
			bins["mariadbd"] = bins["/usr/sbin/mariadbd"]
		}
	}
	if err != nil {
		return nil, unavailable(KindMariaDB, err)
	}

	s, err := newServer(o, KindMariaDB, "vkmy-", host)
	if err != nil {
		return nil, err
	}
	s.password = randomPassword()
	data := filepath.Join(s.dir, "data")
	socket := filepath.Join(s.dir, "mysqld.sock")
	var asRoot []string
	if os.Geteuid() == 0 {
		asRoot = []string{"--user=root"} // else mariadbd refuses to run as root
	}
	// Options for both the bootstrap and the server; small memory, no durability games beyond
	// what a graceful stop still makes safe.
	common := append([]string{
		"--innodb-buffer-pool-size=32M",
		"--innodb-log-file-size=16M",
		"--innodb-use-native-aio=0", // no io_uring/libaio limits in containers
		"--innodb-flush-log-at-trx-commit=2",
		"--performance-schema=OFF",
		"--skip-name-resolve",
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_general_ci",
	}, asRoot...)

	// root@localhost without a password, reachable only over the unix socket (skip-name-resolve:
	// TCP clients are 127.0.0.1, never localhost): the test's own admin access.
	install := append([]string{"--no-defaults", "--datadir=" + data,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"}, common...)
	cmd := exec.Command(bins["mariadb-install-db"], install...)
	cmd.Dir = s.dir
	cmd.Env = env([]string{"MYSQL", "MARIADB"})
	if err := s.run(cmd); err != nil {
		return nil, fmt.Errorf("dbserver: mariadb-install-db: %w", err)
	}

	s.command = func() *exec.Cmd {
		args := append([]string{"--no-defaults",
			"--datadir=" + data,
			"--socket=" + socket,
			"--port=" + strconv.Itoa(s.Port),
			"--bind-address=" + s.Host,
			"--pid-file=" + filepath.Join(s.dir, "mariadbd.pid"),
			"--tmpdir=" + s.dir,
			"--skip-log-bin",
			"--max-connections=200",
		}, common...)
		cmd := exec.Command(bins["mariadbd"], args...)
		cmd.Dir = s.dir
		cmd.Env = env([]string{"MYSQL", "MARIADB"})
		return cmd
	}
	s.probe = func(ctx context.Context) error {
		if err := s.dialProbe(ctx); err != nil {
			return err
		}
		return pingSQL(ctx, "mysql", s.mariaDBAdminDSN())
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
	if err := execSQL(ctx, "mysql", s.mariaDBAdminDSN(),
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", testUser, s.password),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%'", testUser),
	); err != nil {
		return nil, fmt.Errorf("dbserver: creating user %s: %w", testUser, err)
	}
	if err := pingSQL(ctx, "mysql", mysqlDriverDSN(s.DSN())); err != nil {
		return nil, fmt.Errorf("dbserver: connecting as %s over TCP: %w", testUser, err)
	}
	return s, nil
}

// mariaDBAdminDSN connects as root over the unix socket.
func (s *Server) mariaDBAdminDSN() string {
	return fmt.Sprintf("root@unix(%s)/?timeout=5s", filepath.Join(s.dir, "mysqld.sock"))
}

func (s *Server) mariaDBDatabases(ctx context.Context) ([]string, error) {
	return queryStrings(ctx, "mysql", s.mariaDBAdminDSN(), "SHOW DATABASES")
}

// mysqlDriverDSN is a mysql:// DSN in go-sql-driver's form, without the scheme.
func mysqlDriverDSN(dsn string) string { return strings.TrimPrefix(dsn, "mysql://") }
