package e2e

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/test/dbserver"
)

// TestHAExternalPostgres is issue 5's HA on an external PostgreSQL: 3 replicas whose DSN names no
// database, so that vkube creates its own, on a server at the host's node IP (pods do not reach
// this machine's loopback). The failovers of TestHAEmbeddedEtcd, without the etcd leader: no
// acknowledged write is lost, the API answers again, and the syncer resumes on another replica.
func TestHAExternalPostgres(t *testing.T) {
	c := newCLI(t)
	db := dbserver.StartPostgresOn(t, host.Config().NodeIP)
	const name, ns = "ha-pg", "vkube-ha-pg"
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(6+2*haKills())*time.Minute)
	defer cancel()
	h := createHAExternal(ctx, t, c, name, ns, 3, map[string]any{
		"database": map[string]any{"external": map[string]any{"enabled": true, "dataSource": db.DSN()}}})
	w := h.failovers(ctx, t, haKills())

	// The writes are in the database vkube created for this virtual cluster, in kine's table.
	dsn := db.DSNFor(backend.DatabaseName(ns, name))
	var stored int
	if err := querySQL(ctx, "pgx", dsn, `SELECT count(DISTINCT name) FROM kine WHERE name LIKE '/registry/configmaps/writes/%'`, &stored); err != nil {
		t.Fatalf("counting the writes in PostgreSQL database %s: %v", backend.DatabaseName(ns, name), err)
	}
	if stored < w.AckedOf("ConfigMap") {
		t.Errorf("PostgreSQL holds %d of the ConfigMap writes, want at least the %d acknowledged", stored, w.AckedOf("ConfigMap"))
	}
	deleteDroppingDatabase(ctx, t, c, h, db)
}

// deleteDroppingDatabase: vkube delete --drop-database drops the virtual cluster's database from
// a pod on the host. While the server is down it fails with the pod's words and leaves the
// virtual cluster paused, not deleted; once the server is back, the same command finishes.
func deleteDroppingDatabase(ctx context.Context, t *testing.T, c *cli, h haCluster, db *dbserver.Server) {
	t.Helper()
	own := backend.DatabaseName(h.ns, h.name)
	if err := db.Stop(); err != nil {
		t.Fatal(err)
	}
	c.refused(ctx, "connection refused", "delete", h.name, "--drop-database")
	sts, err := h.hc.AppsV1().StatefulSets(h.ns).Get(ctx, h.name, metav1.GetOptions{})
	if err != nil || sts.Spec.Replicas == nil || *sts.Spec.Replicas != 0 {
		t.Fatalf("after a failed drop the virtual cluster must be paused, not deleted: %v %+v", err, sts)
	}
	if err := db.Start(); err != nil {
		t.Fatal(err)
	}
	out := c.must(ctx, "delete", h.name, "--drop-database")
	if !strings.Contains(out, "dropped database "+own) || strings.Contains(out, db.Password()) {
		t.Errorf("delete --drop-database does not say it dropped %s, or shows the password:\n%s", own, out)
	}
	dbs, err := db.Databases()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(dbs, own) {
		t.Errorf("database %s still there after delete --drop-database: %v", own, dbs)
	}
	if _, err := h.hc.CoreV1().Pods(h.ns).Get(ctx, h.name+"-drop-database", metav1.GetOptions{}); err == nil {
		t.Errorf("pod %s-drop-database left behind", h.name)
	}
}

// TestHAExternalEtcd is TestHAExternalPostgres on an external etcd over plain http: 3 replicas.
func TestHAExternalEtcd(t *testing.T) {
	c := newCLI(t)
	etcd := dbserver.StartEtcdOn(t, host.Config().NodeIP)
	const name, ns = "ha-etcd", "vkube-ha-etcd"
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(6+2*haKills())*time.Minute)
	defer cancel()
	h := createHAExternal(ctx, t, c, name, ns, 3, map[string]any{
		"etcd": map[string]any{"external": map[string]any{"enabled": true, "endpoint": etcd.DSN()}}})
	w := h.failovers(ctx, t, haKills())

	// The writes are in the external etcd, whatever the key prefix.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.DSN()}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, "\x00", clientv3.WithFromKey(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatalf("listing the external etcd's keys: %v", err)
	}
	stored := 0
	for _, kv := range resp.Kvs {
		if strings.Contains(string(kv.Key), "/configmaps/writes/") {
			stored++
		}
	}
	if stored < w.AckedOf("ConfigMap") {
		t.Errorf("the external etcd holds %d of the ConfigMap writes, want at least the %d acknowledged", stored, w.AckedOf("ConfigMap"))
	}
	// There is no database to drop: refused before anything is deleted.
	c.refused(ctx, "nothing was deleted", "delete", name, "--drop-database")
	if sts, err := h.hc.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{}); err != nil || sts.Spec.Replicas == nil || *sts.Spec.Replicas != 3 {
		t.Errorf("a refused delete --drop-database changed the virtual cluster: %v %+v", err, sts)
	}
}

// createHAExternal creates virtual cluster name with replicas replicas on the external datastore
// backingStore (controlPlane.backingStore's values), as a user would with -f values.yaml.
func createHAExternal(ctx context.Context, t *testing.T, c *cli, name, ns string, replicas int, backingStore map[string]any) haCluster {
	t.Helper()
	hc, err := host.Client()
	if err != nil {
		t.Fatal(err)
	}
	values, err := yaml.Marshal(map[string]any{"controlPlane": map[string]any{
		"statefulSet":  map[string]any{"highAvailability": map[string]any{"replicas": replicas}},
		"backingStore": backingStore,
	}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(path, values, 0o600); err != nil {
		t.Fatal(err)
	}
	// Deleted before the datastore stops: cleanups run last registered first.
	t.Cleanup(func() { _, _ = c.run(context.Background(), "delete", name) })
	c.must(ctx, "create", name, "--connect=false", "-f", path)
	return haCluster{name: name, ns: ns, replicas: replicas, hc: hc, vc: haClient(ctx, t, c, hc, ns, name)}
}

func querySQL(ctx context.Context, driver, dsn, query string, dest ...any) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.QueryRowContext(ctx, query).Scan(dest...)
}
