package backend

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"

	"vkube.io/vkube/config"
)

// externalDSN is a checked external-database DSN with what the backend needs from it.
type externalDSN struct {
	info config.DSNInfo
	// endpoint is what kine gets: mariadb:// spelled mysql://, and a database always named.
	endpoint string
	password string
}

// parseExternalDSN checks dsn (config.ParseDSN is the one parser of its shape) and names db as
// its database when it names none, so that clusters sharing a server never share kine's default
// database. Errors never contain the password.
func parseExternalDSN(dsn, db string) (*externalDSN, error) {
	info, err := config.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("datastore endpoint %s", err)
	}
	_, rest, _ := strings.Cut(dsn, "://")
	d := &externalDSN{info: info}
	switch info.Kind {
	case config.BackendMySQL:
		cfg, err := mysql.ParseDSN(rest)
		if err != nil {
			return nil, fmt.Errorf("mysql datastore endpoint %s is malformed: %s", config.RedactDSN(dsn), scrub(err.Error(), rest))
		}
		d.password = cfg.Passwd
		if cfg.DBName == "" {
			cfg.DBName = db
		}
		d.endpoint = "mysql://" + cfg.FormatDSN()
	default:
		u, err := url.Parse("postgres://" + rest)
		if err != nil {
			return nil, fmt.Errorf("postgres datastore endpoint %s is malformed", config.RedactDSN(dsn))
		}
		d.password, _ = u.User.Password()
		if strings.Trim(u.Path, "/") == "" {
			u.Path = "/" + db
		}
		d.endpoint = u.String()
	}
	return d, nil
}

// network is how to dial the server: tcp, or unix for a MySQL socket.
func (d *externalDSN) network() string {
	if d.info.Kind == config.BackendMySQL && strings.HasPrefix(d.info.Host, "/") {
		return "unix"
	}
	return "tcp"
}

// scrub blanks every secret out of msg.
func scrub(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "***")
		}
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
