package config

import (
	"strings"
	"testing"
)

func TestParseDSN(t *testing.T) {
	ok := map[string]DSNInfo{
		"mysql://root:pw@tcp(db:3306)/vk":                   {Kind: BackendMySQL, Scheme: "mysql", Host: "db:3306", Database: "vk"},
		"mysql://root:pw@tcp(db:3306)/":                     {Kind: BackendMySQL, Scheme: "mysql", Host: "db:3306"},
		"mysql://root:p@ss/w:rd@tcp(db)/vk?tls=true":        {Kind: BackendMySQL, Scheme: "mysql", Host: "db", Database: "vk"},
		"MariaDB://u@unix(/run/mysqld/mysqld.sock)/vk":      {Kind: BackendMySQL, Scheme: "mariadb", Host: "/run/mysqld/mysqld.sock", Database: "vk"},
		"postgres://u:pw@pg.db.svc:5432/vk?sslmode=require": {Kind: BackendPostgres, Scheme: "postgres", Host: "pg.db.svc:5432", Database: "vk"},
		"postgresql://u:pw@pg":                              {Kind: BackendPostgres, Scheme: "postgresql", Host: "pg"},
		"postgres:///vk?host=/run/postgresql":               {Kind: BackendPostgres, Scheme: "postgres", Host: "/run/postgresql", Database: "vk"},
	}
	for dsn, want := range ok {
		got, err := ParseDSN(dsn)
		if err != nil || got != want {
			t.Errorf("ParseDSN(%q) = %+v, %v; want %+v", dsn, got, err, want)
		}
	}
	bad := map[string]string{
		"":                                "no scheme",
		"root:s3cr3t@tcp(db:3306)/vk":     "no scheme",
		"host=db user=u password=s3cr3t":  "no scheme",
		"oracle://u:s3cr3t@db/vk":         "unknown scheme",
		"sqlite:///var/lib/vk.db":         "embedded",
		"https://u:s3cr3t@etcd:2379":      "etcd.external.endpoint",
		"mysql://u:s3cr3t@/vk":            "no server host",
		"mysql://u:s3cr3t@tcp/vk":         "no server host",
		"mysql://u:s3cr3t@tcp()/vk":       "no server host",
		"mysql://u:s3cr3t@tcp(db:3306":    "'/'",
		"mysql://u:s3cr3t@tcp(db:3306/vk": "unclosed",
		"mysql://u:s3cr3t@db:3306/vk":     "without tcp(...)",
		"mysql://u:s3cr3t@unix()/vk":      "no socket",
		"postgres://u:s3cr3t@/vk":         "no server host",
		"postgres://u:s3c#r3t@db:5432/vk": "valid URL",
		"postgres://u:s3cr3t@db:port/vk":  "valid URL",
		"postgres://u:1234/s3cr3t@db/vk":  "percent-encode",
		"postgres://u:s3cr3t@db/vk%zz":    "valid URL",
	}
	for dsn, want := range bad {
		_, err := ParseDSN(dsn)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDSN(%q) = %v, want an error with %q", dsn, err, want)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "s3c") {
			t.Errorf("ParseDSN(%q) leaks the password: %v", dsn, err)
		}
	}
}

func TestDSNKind(t *testing.T) {
	for dsn, want := range map[string]BackendKind{
		"mysql://x": BackendMySQL, "mariadb://x": BackendMySQL, "postgres://x": BackendPostgres,
		"postgresql://x": BackendPostgres, "PostgreSQL://x": BackendPostgres, "http://x": BackendUnknown,
		"x": BackendUnknown, "": BackendUnknown,
	} {
		if got := DSNKind(dsn); got != want {
			t.Errorf("DSNKind(%q) = %q, want %q", dsn, got, want)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	for dsn, want := range map[string]string{
		"mysql://root:s3cr3t@tcp(db:3306)/vk":            "mysql://root:REDACTED@tcp(db:3306)/vk",
		"mysql://root:s3@cr/3t@tcp(db:3306)/vk":          "mysql://root:REDACTED@tcp(db:3306)/vk",
		"postgres://u:s3cr3t@db/vk?sslmode=disable":      "postgres://u:REDACTED@db/vk?sslmode=disable",
		"postgres://u@db/vk?password=s3cr3t&sslmode=off": "postgres://u@db/vk?password=REDACTED&sslmode=off",
		"host=db password='s3 cr3t' user=u":              "host=db password=REDACTED user=u",
		"root:s3cr3t@tcp(db)/vk":                         "root:REDACTED@tcp(db)/vk",
		"mysql://root@tcp(db:3306)/vk":                   "mysql://root@tcp(db:3306)/vk",
		"https://etcd:2379":                              "https://etcd:2379",
	} {
		if got := RedactDSN(dsn); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", dsn, got, want)
		}
	}
}

// Whatever shape a DSN has, no error Validate returns for it contains the password.
func TestValidateNeverShowsPasswords(t *testing.T) {
	const pw = "Sup3rS3cret"
	dsns := []string{
		"mysql://root:" + pw + "@db:3306/vk", "mysql://root:" + pw + "@/vk", "mysql://root:" + pw + "@tcp(db:3306",
		"mysql://root:" + pw + "@tcp(db", "root:" + pw + "@tcp(db:3306)/vk", "foo://root:" + pw + "@db/vk",
		"postgres://root:" + pw + "@/vk", "postgres://root:" + pw + "#x@db/vk", "postgres://root:" + pw + "@db:xx/vk",
		"postgres://root:1/" + pw + "@db/vk", "host=db password=" + pw, "postgres://root@db/vk?password=" + pw + "&host=",
		"postgres://root:" + pw + "@db/vk\x7f", pw,
	}
	for _, dsn := range dsns {
		c := Default()
		external(c, dsn)
		c.ControlPlane.BackingStore.Etcd.Embedded.Enabled = true // also trip the two-stores rule
		err := c.Validate()
		if err == nil {
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("Validate() for %q leaks the password: %v", RedactDSN(dsn), err)
		}
	}
	c := Default()
	etcd(c, "https://root:"+pw+"@etcd:2379,ftp://root:"+pw+"@etcd")
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("Validate() = %v, want an endpoint error without the password", err)
	}
}
