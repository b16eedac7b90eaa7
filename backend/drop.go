package backend

import (
	"context"
	cryptotls "crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/k3s-io/kine/pkg/tls"

	"vkube.io/vkube/config"
)

// Database is a database on a MySQL/MariaDB or PostgreSQL server.
type Database struct {
	Name string
	// Server is host:port or a unix socket: never credentials.
	Server string
}

// OwnDatabase is the database vkube made for the virtual cluster cfg describes on a shared
// database server, the one DropDatabase drops, or an error saying why there is none: another
// datastore, or a DSN that names a database, which is the user's and never dropped. It does
// not connect.
func OwnDatabase(cfg Config) (Database, error) {
	d, err := ownDatabase(cfg)
	if err != nil {
		return Database{}, err
	}
	return Database{Name: cfg.DatabaseName, Server: hostWithPort(d.info)}, nil
}

// DropDatabase drops the database vkube made for the virtual cluster cfg describes (see
// OwnDatabase), ending the sessions still in it, and tells whether it was there. The virtual
// cluster must be stopped: its data is gone for good. Errors never contain the password.
func DropDatabase(ctx context.Context, cfg Config) (existed bool, err error) {
	d, err := ownDatabase(cfg)
	if err != nil {
		return false, err
	}
	if d.info.Kind == config.BackendMySQL {
		existed, err = dropMySQL(ctx, d, cfg.ClientTLS, cfg.DatabaseName)
	} else {
		existed, err = dropPostgres(ctx, d, cfg.ClientTLS, cfg.DatabaseName)
	}
	if err != nil {
		// Driver errors may quote the DSN: their text is passed on without the password.
		return false, fmt.Errorf("dropping database %s on %s: %s", cfg.DatabaseName, hostWithPort(d.info), d.hidePassword(err.Error()))
	}
	return existed, nil
}

func ownDatabase(cfg Config) (*externalDSN, error) {
	switch cfg.Kind {
	case SQLite, "":
		return nil, errors.New("the datastore is SQLite, a file in the data dir: there is no database server to drop a database on (deleting the data dir removes it)")
	case EtcdEmbedded:
		return nil, errors.New("the datastore is embedded etcd, in the data dir: there is no database server to drop a database on (deleting the data dir removes it)")
	case EtcdExternal:
		return nil, errors.New("the datastore is an external etcd: vkube drops only a database it made on a MySQL/MariaDB or PostgreSQL server")
	case MySQL, Postgres:
	default:
		return nil, fmt.Errorf("backend %q is not known: use sqlite, mysql, postgres or etcd", cfg.Kind)
	}
	if cfg.DatabaseName == "" {
		return nil, errors.New("no database name: the virtual cluster's name is needed to know its database")
	}
	d, err := parseExternalDSN(cfg.DSN, cfg.DatabaseName)
	if err != nil {
		return nil, err
	}
	if named := d.namedDatabase(); named != "" {
		return nil, fmt.Errorf("the datastore endpoint names database %q: it is yours and vkube never drops it (vkube drops only the database it made for a DSN that names none)", named)
	}
	return d, nil
}

// namedDatabase is the database the user's DSN names ("" when vkube chose one).
func (d *externalDSN) namedDatabase() string {
	if d.info.Database != "" || d.info.Kind != config.BackendPostgres {
		return d.info.Database
	}
	// libpq's dbname parameter names the database as well as the path does, and wins over it.
	u, err := url.Parse(d.endpoint)
	if err != nil {
		return ""
	}
	return u.Query().Get("dbname")
}

// hidePassword blanks the password out of msg, as typed and URL-encoded.
func (d *externalDSN) hidePassword(msg string) string {
	return scrub(msg, d.password, url.QueryEscape(d.password), url.PathEscape(d.password))
}

func dropPostgres(ctx context.Context, d *externalDSN, tlsFiles TLSFiles, name string) (bool, error) {
	cfg, err := postgresMaintenanceConfig(d, tlsFiles)
	if err != nil {
		return false, err
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	var existed bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&existed); err != nil {
		return false, err
	}
	if !existed {
		return false, nil
	}
	var version int
	if err := db.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		return true, err
	}
	drop := "DROP DATABASE IF EXISTS " + quotePostgresIdentifier(name)
	if version >= 130000 {
		_, err = db.ExecContext(ctx, drop+" WITH (FORCE)")
		return true, err
	}
	// Before PostgreSQL 13 a database with sessions in it cannot be dropped: end them first.
	if _, err := db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name); err != nil {
		return true, err
	}
	_, err = db.ExecContext(ctx, drop)
	return true, err
}

// postgresMaintenanceConfig connects to the server's maintenance database "postgres" (a
// database cannot be dropped from a session in it), with the TLS files the way kine passes them.
func postgresMaintenanceConfig(d *externalDSN, tlsFiles TLSFiles) (*pgx.ConnConfig, error) {
	u, err := url.Parse(d.endpoint)
	if err != nil {
		return nil, errors.New("the postgres datastore endpoint is malformed")
	}
	u.Path = "/postgres"
	q := u.Query()
	verify := false
	for param, file := range map[string]string{"sslcert": tlsFiles.CertFile, "sslkey": tlsFiles.KeyFile, "sslrootcert": tlsFiles.CAFile} {
		if file != "" && !q.Has(param) {
			q.Set(param, file)
			verify = true
		}
	}
	if verify && !q.Has("sslmode") {
		q.Set("sslmode", "verify-full")
	}
	u.RawQuery = q.Encode()
	return pgx.ParseConfig(u.String())
}

func dropMySQL(ctx context.Context, d *externalDSN, tlsFiles TLSFiles, name string) (bool, error) {
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(d.endpoint, "mysql://"))
	if err != nil {
		return false, errors.New("the mysql datastore endpoint is malformed")
	}
	cfg.DBName = "" // the server, not the database about to go
	tlsConfig, err := tls.Config{CAFile: tlsFiles.CAFile, CertFile: tlsFiles.CertFile, KeyFile: tlsFiles.KeyFile}.ClientConfig()
	if err != nil {
		return false, fmt.Errorf("datastore client TLS: %w", err)
	}
	if tlsConfig != nil {
		// As kine connects, so that a server kine reaches is reached here too.
		tlsConfig.MinVersion = cryptotls.VersionTLS11
		cfg.TLS = tlsConfig
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return false, err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`, name).Scan(&n); err != nil {
		return false, err
	}
	if n == 0 {
		return false, nil
	}
	_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteMySQLIdentifier(name))
	return true, err
}

func quotePostgresIdentifier(name string) string { return pgx.Identifier{name}.Sanitize() }

func quoteMySQLIdentifier(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
