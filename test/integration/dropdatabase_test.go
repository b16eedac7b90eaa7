package integration

import (
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/test/dbserver"
	"vkube.io/vkube/test/framework"
)

// TestDropDatabase: on a DSN naming no database, vkube start makes the virtual cluster a
// database of its own; once it is stopped, vkube drop-database, given the same inputs, drops
// that database and nothing else. A DSN naming a database is refused, and that database stays.
func TestDropDatabase(t *testing.T) {
	requireKube(t, kubeVersion)
	cases := []struct {
		name  string
		start func(testing.TB) *dbserver.Server
		// inputs are the datastore flags and environment vkube start and drop-database both take.
		inputs func(t *testing.T, dsn string) (args, env []string)
	}{
		{
			name:  "postgres",
			start: dbserver.StartPostgres,
			inputs: func(_ *testing.T, dsn string) ([]string, []string) {
				return []string{"--backend", "postgres"}, []string{"VKUBE_DATASTORE_ENDPOINT=" + dsn}
			},
		},
		{
			// As the chart runs it: a vkube.yaml whose DSN is in a file.
			name:  "mariadb",
			start: dbserver.StartMariaDB,
			inputs: func(t *testing.T, dsn string) ([]string, []string) {
				file := writeTemp(t, "dsn", dsn+"\n")
				cfg := writeTemp(t, "vkube.yaml", "controlPlane:\n  backingStore:\n    database:\n      external:\n        enabled: true\n        dataSourceFile: "+file+"\n")
				return []string{"-f", cfg}, nil
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.start(t)
			name := "drop-" + tc.name
			own := backend.DatabaseName("", name)
			if err := db.CreateDatabase("mine"); err != nil {
				t.Fatalf("creating the user's database: %v", err)
			}

			args, env := tc.inputs(t, db.DSN())
			v := framework.New(t, vkubeBin, name, args...)
			v.Env = env
			v.Start()
			v.WaitReady(2 * time.Minute)
			v.Stop()
			requireDatabases(t, db, []string{own, "mine"}, nil)

			dropArgs := append([]string{"drop-database", "--name", name}, args...)
			mineArgs, mineEnv := tc.inputs(t, db.DSNFor("mine"))
			out, code := runVkube(t, mineEnv, append([]string{"drop-database", "--name", name}, mineArgs...)...)
			if code == 0 || !strings.Contains(out, `names database "mine"`) || strings.Contains(out, db.Password()) {
				t.Fatalf("drop-database on a DSN naming a database: exit %d, want a refusal naming it without the password:\n%s", code, out)
			}
			requireDatabases(t, db, []string{own, "mine"}, nil)

			out, code = runVkube(t, env, dropArgs...)
			if code != 0 || !strings.Contains(out, "dropped database "+own) || strings.Contains(out, db.Password()) {
				t.Fatalf("drop-database: exit %d, want the dropped database named without the password:\n%s", code, out)
			}
			requireDatabases(t, db, []string{"mine"}, []string{own})

			out, code = runVkube(t, env, dropArgs...)
			if code != 0 || !strings.Contains(out, "nothing to drop") {
				t.Fatalf("drop-database again: exit %d, want nothing to drop:\n%s", code, out)
			}
		})
	}
	t.Run("sqlite", func(t *testing.T) {
		out, code := runVkube(t, nil, "drop-database", "--name", "drop-sqlite")
		if code == 0 || !strings.Contains(out, "SQLite") || strings.Count(strings.TrimSpace(out), "\n") > 0 {
			t.Fatalf("drop-database on SQLite: exit %d, want a one-line refusal naming SQLite:\n%s", code, out)
		}
	})
}

// requireDatabases checks which databases the server has and has not.
func requireDatabases(t *testing.T, db *dbserver.Server, have, haveNot []string) {
	t.Helper()
	dbs, err := db.Databases()
	if err != nil {
		t.Fatalf("listing databases: %v", err)
	}
	for _, d := range have {
		if !slices.Contains(dbs, d) {
			t.Errorf("database %s missing; have %v", d, dbs)
		}
	}
	for _, d := range haveNot {
		if slices.Contains(dbs, d) {
			t.Errorf("database %s still there; have %v", d, dbs)
		}
	}
}
