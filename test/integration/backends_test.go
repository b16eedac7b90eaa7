package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vkube.io/vkube/test/dbserver"
)

// TestBackends runs the k8s distro on every datastore: start, use the cluster as a user would,
// stop, start again, and find every object and the same CA.
func TestBackends(t *testing.T) {
	requireKube(t, kubeVersion)
	cases := []struct {
		name  string
		setup func(t *testing.T, v *vcluster)
	}{
		{"sqlite", func(*testing.T, *vcluster) {}},
		{"etcd-embedded", func(_ *testing.T, v *vcluster) { v.args = append(v.args, "--backend", "etcd") }},
		{"postgres", func(t *testing.T, v *vcluster) {
			db := dbserver.StartPostgres(t)
			v.args = append(v.args, "--backend", "postgres")
			v.env = append(v.env, "VKUBE_DATASTORE_ENDPOINT="+db.DSN())
		}},
		{"mariadb", func(t *testing.T, v *vcluster) {
			db := dbserver.StartMariaDB(t)
			file := filepath.Join(t.TempDir(), "dsn")
			if err := os.WriteFile(file, []byte(db.DSN()+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			v.args = append(v.args, "--backend", "mariadb", "--datastore-endpoint-file", file)
		}},
		{"etcd-external", func(t *testing.T, v *vcluster) {
			db := dbserver.StartEtcd(t)
			v.args = append(v.args, "--backend", "etcd", "--datastore-endpoint", db.DSN())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newVCluster(t, "vc-"+tc.name)
			tc.setup(t, v)
			v.start()
			v.waitReady(2 * time.Minute)
			exerciseCluster(t, v)
			ca := readFile(t, filepath.Join(v.dataDir, "pki", "ca.crt"))

			v.stop()
			v.start()
			v.waitReady(2 * time.Minute)
			verifyPersisted(t, v)
			if !bytes.Equal(ca, readFile(t, filepath.Join(v.dataDir, "pki", "ca.crt"))) {
				t.Fatal("the CA changed across a restart")
			}
			kc := readFile(t, v.kubeconfig())
			if bytes.Contains(kc, []byte("secret")) {
				t.Fatal("kubeconfig mentions the database password")
			}
		})
	}
}
