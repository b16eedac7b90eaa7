package config

import (
	"errors"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// DSNInfo is what vkube needs to know of an external database DSN. It never holds the password.
type DSNInfo struct {
	Kind BackendKind
	// Scheme as written, lower-cased: mysql, mariadb, postgres or postgresql.
	Scheme string
	// Host is host[:port], or a unix socket path.
	Host string
	// Database is empty when the DSN names none: vkube then creates one of its own.
	Database string
}

// Schemes an external database DSN may start with.
var dsnSchemes = map[string]BackendKind{
	"mysql":      BackendMySQL,
	"mariadb":    BackendMySQL,
	"postgres":   BackendPostgres,
	"postgresql": BackendPostgres,
}

const dsnExamples = "mysql://user:pass@tcp(db:3306)/vkube or postgres://user:pass@db:5432/vkube?sslmode=require"

// DSNKind is the backend a DSN's scheme selects: mysql:// and mariadb:// are MySQL, postgres:// and
// postgresql:// are PostgreSQL, anything else BackendUnknown.
func DSNKind(dsn string) BackendKind {
	scheme, _, ok := splitScheme(dsn)
	if !ok {
		return BackendUnknown
	}
	return dsnSchemes[scheme]
}

// ParseDSN checks a MySQL/MariaDB DSN in kine's form (mysql://user:pass@tcp(host:3306)/db, the
// go-sql-driver form after the scheme) or a PostgreSQL URL. Its errors never quote the DSN, so
// they can be shown as they are.
func ParseDSN(dsn string) (DSNInfo, error) {
	scheme, rest, ok := splitScheme(dsn)
	if !ok {
		return DSNInfo{}, errors.New("has no scheme: start it with mysql://, mariadb://, postgres:// or postgresql://, e.g. " + dsnExamples)
	}
	kind, known := dsnSchemes[scheme]
	if !known {
		hint := "use mysql://, mariadb://, postgres:// or postgresql://, e.g. " + dsnExamples
		switch scheme {
		case "sqlite", "sqlite3", "file":
			hint = "SQLite is the embedded database: enable controlPlane.backingStore.database.embedded instead of external"
		case "http", "https", "etcd", "unix":
			hint = "for etcd use controlPlane.backingStore.etcd.external.endpoint; external databases take " + dsnExamples
		}
		return DSNInfo{}, errors.New("has unknown scheme " + quote(scheme) + ": " + hint)
	}
	info := DSNInfo{Kind: kind, Scheme: scheme}
	var err error
	if kind == BackendMySQL {
		info.Host, info.Database, err = parseMySQL(rest)
	} else {
		info.Host, info.Database, err = parsePostgres(dsn)
	}
	return info, err
}

// parseMySQL splits [user[:password]@][net[(addr)]]/dbname[?params] the way go-sql-driver does:
// the last '/' ends the address, the last '@' before it ends the credentials.
func parseMySQL(rest string) (host, database string, err error) {
	slash := strings.LastIndex(rest, "/")
	if slash < 0 {
		return "", "", errors.New("misses the '/' before the database name: end the address with / or /DATABASE, e.g. mysql://user:pass@tcp(db:3306)/vkube")
	}
	addrPart := rest[:slash]
	if at := strings.LastIndex(addrPart, "@"); at >= 0 {
		addrPart = addrPart[at+1:]
	}
	database = rest[slash+1:]
	if q := strings.Index(database, "?"); q >= 0 {
		database = database[:q]
	}
	netName, addr := addrPart, ""
	if open := strings.Index(addrPart, "("); open >= 0 {
		if !strings.HasSuffix(addrPart, ")") {
			return "", "", errors.New("has an unclosed address: write the server as tcp(HOST:PORT), e.g. mysql://user:pass@tcp(db:3306)/vkube")
		}
		netName, addr = addrPart[:open], addrPart[open+1:len(addrPart)-1]
	}
	switch netName {
	case "tcp":
		h := addr
		if hh, _, splitErr := net.SplitHostPort(addr); splitErr == nil {
			h = hh
		}
		if h == "" {
			return "", "", errors.New("names no server host: write it as tcp(HOST:PORT), e.g. mysql://user:pass@tcp(db:3306)/vkube")
		}
		return addr, database, nil
	case "unix":
		if addr == "" {
			return "", "", errors.New("names no socket: write it as unix(/path/to/mysqld.sock)")
		}
		return addr, database, nil
	case "":
		return "", "", errors.New("names no server host: add @tcp(HOST:PORT) before the database, e.g. mysql://user:pass@tcp(db:3306)/vkube")
	}
	return "", "", errors.New("writes the server without tcp(...): MySQL DSNs use the go-sql-driver form, e.g. mysql://user:pass@tcp(db:3306)/vkube")
}

func parsePostgres(dsn string) (host, database string, err error) {
	u, perr := url.Parse(dsn)
	if perr != nil {
		// url.Parse errors quote the input, password included: never pass them on.
		return "", "", errors.New("is not a valid URL: percent-encode special characters (@ : / ? # %) in the user name and password, e.g. " + dsnExamples)
	}
	host = u.Host
	if u.Hostname() == "" {
		// libpq accepts the host (or a socket directory) as a query parameter.
		host = u.Query().Get("host")
	}
	if host == "" {
		return "", "", errors.New("names no server host: write it as postgres://user:pass@HOST:5432/DATABASE")
	}
	database = strings.TrimPrefix(u.Path, "/")
	if strings.ContainsAny(database, "/@") {
		// Typically an unencoded '/' in the password that made the URL parse differently.
		return "", "", errors.New("has a database name with '/' or '@': percent-encode special characters (@ : / ? # %) in the user name and password")
	}
	return host, database, nil
}

func splitScheme(dsn string) (scheme, rest string, ok bool) {
	i := strings.Index(dsn, "://")
	if i <= 0 {
		return "", dsn, false
	}
	return strings.ToLower(dsn[:i]), dsn[i+3:], true
}

// redacted replaces passwords in messages.
const redacted = "REDACTED"

var passwordParam = regexp.MustCompile(`(?i)\b((?:ssl)?password|passwd|pwd)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*)`)

// RedactDSN returns the DSN (or URL) with its password replaced, for messages and logs. It errs
// on the side of hiding too much: everything between the user name and the last '@' goes.
func RedactDSN(dsn string) string {
	prefix, rest := "", dsn
	if i := strings.Index(dsn, "://"); i >= 0 {
		prefix, rest = dsn[:i+3], dsn[i+3:]
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user := rest[:at]
		if c := strings.Index(user, ":"); c >= 0 {
			user = user[:c+1] + redacted
		}
		rest = user + rest[at:]
	}
	return prefix + passwordParam.ReplaceAllString(rest, "${1}${2}"+redacted)
}

func quote(s string) string { return `"` + s + `"` }
