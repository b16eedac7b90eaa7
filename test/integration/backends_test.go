package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vkube.io/vkube/test/framework"

	"vkube.io/vkube/test/dbserver"
)

// TestBackends runs the k8s distro on every datastore: start, use the cluster as a user would,
// stop, start again, and find every object and the same CA.
func TestBackends(t *testing.T) {
	requireKube(t, kubeVersion)
	cases := []struct {
		name  string
		setup func(t *testing.T, v *framework.VCluster)
	}{
		{"sqlite", func(*testing.T, *framework.VCluster) {}},
		{"etcd-embedded", func(_ *testing.T, v *framework.VCluster) { v.Args = append(v.Args, "--backend", "etcd") }},
		{"postgres", func(t *testing.T, v *framework.VCluster) {
			db := dbserver.StartPostgres(t)
			v.Args = append(v.Args, "--backend", "postgres")
			v.Env = append(v.Env, "VKUBE_DATASTORE_ENDPOINT="+db.DSN())
			t.Cleanup(func() { requireOwnDatabase(t, db, "vkube_vc_postgres") })
		}},
		{"mariadb", func(t *testing.T, v *framework.VCluster) {
			db := dbserver.StartMariaDB(t)
			file := filepath.Join(t.TempDir(), "dsn")
			if err := os.WriteFile(file, []byte(db.DSN()+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			v.Args = append(v.Args, "--backend", "mariadb", "--datastore-endpoint-file", file)
			t.Cleanup(func() { requireOwnDatabase(t, db, "vkube_vc_mariadb") })
		}},
		{"etcd-external", func(t *testing.T, v *framework.VCluster) {
			db := dbserver.StartEtcd(t)
			v.Args = append(v.Args, "--backend", "etcd", "--datastore-endpoint", db.DSN())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := framework.New(t, vkubeBin, "vc-"+tc.name)
			tc.setup(t, v)
			v.Start()
			v.WaitReady(2 * time.Minute)
			exerciseCluster(t, v)
			ca := framework.ReadFile(t, filepath.Join(v.DataDir, "pki", "ca.crt"))

			v.Stop()
			v.Start()
			v.WaitReady(2 * time.Minute)
			verifyPersisted(t, v)
			if !bytes.Equal(ca, framework.ReadFile(t, filepath.Join(v.DataDir, "pki", "ca.crt"))) {
				t.Fatal("the CA changed across a restart")
			}
			kc := framework.ReadFile(t, v.Kubeconfig())
			if bytes.Contains(kc, []byte("secret")) {
				t.Fatal("kubeconfig mentions the database password")
			}
		})
	}
}

// requireOwnDatabase: a DSN naming no database gets one of the virtual cluster's own, never
// kine's shared default "kubernetes".
func requireOwnDatabase(t *testing.T, db *dbserver.Server, want string) {
	t.Helper()
	dbs, err := db.Databases()
	if err != nil {
		t.Fatalf("listing databases: %v", err)
	}
	found := false
	for _, d := range dbs {
		if d == "kubernetes" {
			t.Errorf("kine's shared default database %q was created", d)
		}
		found = found || d == want
	}
	if !found {
		t.Errorf("database %s not created; have %v", want, dbs)
	}
}
