package backend

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// DSN is a parsed external-database data source name.
type DSN struct {
	Kind     Kind
	Host     string // host:port, or a unix socket path for MySQL
	Network  string // tcp or unix
	Database string
	password string
	raw      string // without scheme, as kine's driver wants it
	mysqlCfg *mysql.Config
	pgURL    *url.URL
}

// ParseDSN accepts mysql://user:pass@tcp(host:3306)/db, mariadb://… (same) and
// postgres://user:pass@host:5432/db?sslmode=… (postgresql:// too). Errors never contain the password.
func ParseDSN(s string) (*DSN, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return nil, fmt.Errorf("datastore endpoint %q has no scheme: write mysql://user:pass@tcp(host:3306)/db or postgres://user:pass@host:5432/db", Redact(s))
	}
	switch strings.ToLower(scheme) {
	case "mysql", "mariadb":
		cfg, err := mysql.ParseDSN(rest)
		if err != nil {
			return nil, fmt.Errorf("mysql datastore endpoint %q is malformed (%v): write mysql://user:pass@tcp(host:3306)/db", Redact(s), redactErr(err, s))
		}
		if cfg.Addr == "" || (cfg.Net == "tcp" && !hasHost(cfg.Addr)) {
			return nil, fmt.Errorf("mysql datastore endpoint %q names no host: write mysql://user:pass@tcp(host:3306)/db", Redact(s))
		}
		return &DSN{Kind: MySQL, Host: cfg.Addr, Network: cfg.Net, Database: cfg.DBName, password: cfg.Passwd, raw: rest, mysqlCfg: cfg}, nil
	case "postgres", "postgresql":
		u, err := url.Parse("postgres://" + rest)
		if err != nil {
			return nil, fmt.Errorf("postgres datastore endpoint %q is malformed: write postgres://user:pass@host:5432/db?sslmode=disable", Redact(s))
		}
		if u.Hostname() == "" {
			return nil, fmt.Errorf("postgres datastore endpoint %q names no host: write postgres://user:pass@host:5432/db?sslmode=disable", Redact(s))
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "5432")
		}
		pw, _ := u.User.Password()
		return &DSN{Kind: Postgres, Host: host, Network: "tcp", Database: strings.TrimPrefix(u.Path, "/"), password: pw, raw: rest, pgURL: u}, nil
	default:
		return nil, fmt.Errorf("datastore endpoint scheme %q is not supported: use mysql://, mariadb:// or postgres://", scheme)
	}
}

func hasHost(addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr != ""
	}
	return h != ""
}

// WithDefaultDatabase returns the kine endpoint for this DSN, naming db when the DSN names none,
// so that clusters sharing one server never share kine's default database.
func (d *DSN) WithDefaultDatabase(db string) string {
	switch d.Kind {
	case MySQL:
		cfg := d.mysqlCfg.Clone()
		if cfg.DBName == "" {
			cfg.DBName = db
		}
		return "mysql://" + cfg.FormatDSN()
	default:
		u := *d.pgURL
		if strings.Trim(u.Path, "/") == "" {
			u.Path = "/" + db
		}
		return "postgres://" + strings.TrimPrefix(u.String(), "postgres://")
	}
}

// Password is the DSN's password, for redacting logs.
func (d *DSN) Password() string { return d.password }

var userinfo = regexp.MustCompile(`^([a-zA-Z0-9+.-]+://)?([^:@/]*):([^@]*)@`)

// Redact hides the password of a DSN.
func Redact(s string) string {
	return userinfo.ReplaceAllString(s, "${1}${2}:***@")
}

func redactErr(err error, dsn string) string {
	msg := err.Error()
	if m := userinfo.FindStringSubmatch(dsn); m != nil && m[3] != "" {
		msg = strings.ReplaceAll(msg, m[3], "***")
	}
	return msg
}

var notIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// DatabaseName is the database vkube uses for one virtual cluster on a shared server:
// vkube_<namespace>_<name>, lower-case, at most 63 characters (MySQL allows 64, PostgreSQL 63).
func DatabaseName(namespace, name string) string {
	parts := []string{"vkube"}
	if namespace != "" {
		parts = append(parts, namespace)
	}
	parts = append(parts, name)
	n := notIdent.ReplaceAllString(strings.ToLower(strings.Join(parts, "_")), "_")
	if len(n) <= 63 {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	return n[:52] + "_" + hex.EncodeToString(sum[:])[:10]
}
