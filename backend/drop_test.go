package backend

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestQuoteIdentifiers(t *testing.T) {
	cases := []struct{ name, postgres, mysql string }{
		{"vkube_ns_vc", `"vkube_ns_vc"`, "`vkube_ns_vc`"},
		{`we"ird`, `"we""ird"`, "`we\"ird`"},
		{"back`tick", `"back` + "`" + `tick"`, "`back``tick`"},
		{`x"; DROP DATABASE postgres; --`, `"x""; DROP DATABASE postgres; --"`, "`x\"; DROP DATABASE postgres; --`"},
	}
	for _, tc := range cases {
		if got := quotePostgresIdentifier(tc.name); got != tc.postgres {
			t.Errorf("postgres %q: %s, want %s", tc.name, got, tc.postgres)
		}
		if got := quoteMySQLIdentifier(tc.name); got != tc.mysql {
			t.Errorf("mysql %q: %s, want %s", tc.name, got, tc.mysql)
		}
	}
}

func TestOwnDatabase(t *testing.T) {
	for _, tc := range []struct {
		kind        Kind
		dsn, server string
	}{
		{Postgres, "postgres://u:s3cret@db:5432/?sslmode=disable", "db:5432"},
		{Postgres, "postgresql://u:s3cret@db", "db:5432"},
		{MySQL, "mysql://u:s3cret@tcp(db:3306)/", "db:3306"},
		{MySQL, "mariadb://u:s3cret@tcp(db)/?tls=false", "db:3306"},
	} {
		got, err := OwnDatabase(Config{Kind: tc.kind, DSN: tc.dsn, DatabaseName: "vkube_ns_vc"})
		if err != nil {
			t.Errorf("%s: %v", tc.dsn, err)
			continue
		}
		if got != (Database{Name: "vkube_ns_vc", Server: tc.server}) {
			t.Errorf("%s: %+v", tc.dsn, got)
		}
	}
}

// TestOwnDatabaseRefusals: vkube drops only a database it made; every refusal is one line that
// says why, and none shows the password.
func TestOwnDatabaseRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"sqlite", Config{Kind: SQLite, DatabaseName: "vkube_vc"}, "deleting the data dir"},
		{"embedded etcd", Config{Kind: EtcdEmbedded, DatabaseName: "vkube_vc"}, "embedded etcd"},
		{"external etcd", Config{Kind: EtcdExternal, Endpoints: []string{"http://etcd:2379"}, DatabaseName: "vkube_vc"}, "external etcd"},
		{"postgres names a database", Config{Kind: Postgres, DSN: "postgres://u:s3cret@db:5432/mine?sslmode=disable", DatabaseName: "vkube_vc"}, `names database "mine"`},
		{"postgres dbname parameter", Config{Kind: Postgres, DSN: "postgres://u:s3cret@db:5432/?dbname=mine", DatabaseName: "vkube_vc"}, `names database "mine"`},
		{"mysql names a database", Config{Kind: MySQL, DSN: "mysql://u:s3cret@tcp(db:3306)/mine", DatabaseName: "vkube_vc"}, `names database "mine"`},
		{"malformed DSN", Config{Kind: MySQL, DSN: "mysql://u:s3cret@db:3306/", DatabaseName: "vkube_vc"}, "tcp("},
		{"no database name", Config{Kind: Postgres, DSN: "postgres://u:s3cret@db/"}, "name"},
		{"unknown kind", Config{Kind: "mongodb", DatabaseName: "vkube_vc"}, "mongodb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OwnDatabase(tc.cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "s3cret") {
				t.Errorf("want one line naming %q without the password, got: %s", tc.want, msg)
			}
			if _, dropErr := DropDatabase(context.Background(), tc.cfg); dropErr == nil || dropErr.Error() != msg {
				t.Errorf("DropDatabase refuses with %v, OwnDatabase with %v", dropErr, err)
			}
		})
	}
}

func TestDropDatabaseErrorsHidePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, cfg := range []Config{
		{Kind: Postgres, DSN: "postgres://u:s3cr%2Ft@127.0.0.1:1/?sslmode=disable&connect_timeout=2", DatabaseName: "vkube_vc"},
		{Kind: MySQL, DSN: "mysql://u:s3cr/t@tcp(127.0.0.1:1)/?timeout=2s", DatabaseName: "vkube_vc"},
	} {
		_, err := DropDatabase(ctx, cfg)
		if err == nil {
			t.Errorf("%s: dropped on a closed port", cfg.Kind)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "s3cr") || !strings.Contains(msg, "vkube_vc") || !strings.Contains(msg, "127.0.0.1:1") {
			t.Errorf("%s: want the database and server without the password, got: %s", cfg.Kind, msg)
		}
	}
}
