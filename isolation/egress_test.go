package isolation

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"vkube.io/vkube/config"
)

func TestDatastoreEgress(t *testing.T) {
	dsnFile := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(dsnFile, []byte("mysql://u:secret@tcp(10.0.0.9:3306)/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		set  func(*config.Config)
		want []string
	}{
		"embedded SQLite": {func(*config.Config) {}, nil},
		"PostgreSQL": {func(c *config.Config) {
			c.ControlPlane.BackingStore.Database.External = config.ExternalDatabase{Enabled: true, DataSource: "postgres://u:p@10.1.2.3:5432/?sslmode=disable"}
		}, []string{"10.1.2.3/32"}},
		"PostgreSQL, two hosts": {func(c *config.Config) {
			c.ControlPlane.BackingStore.Database.External = config.ExternalDatabase{Enabled: true, DataSource: "postgres://u:p@/vk?host=10.1.2.3,fd00::5,/run/postgresql"}
		}, []string{"10.1.2.3/32", "fd00::5/128"}},
		"MySQL from a file": {func(c *config.Config) {
			c.ControlPlane.BackingStore.Database.External = config.ExternalDatabase{Enabled: true, DataSourceFile: dsnFile}
		}, []string{"10.0.0.9/32"}},
		"MySQL on a socket": {func(c *config.Config) {
			c.ControlPlane.BackingStore.Database.External = config.ExternalDatabase{Enabled: true, DataSource: "mysql://u:p@unix(/run/mysqld/mysqld.sock)/"}
		}, nil},
		"external etcd": {func(c *config.Config) {
			c.ControlPlane.BackingStore.Etcd.External.Enabled = true
			c.ControlPlane.BackingStore.Etcd.External.Endpoint = "https://10.0.0.1:2379, https://10.0.0.2:2379,https://10.0.0.1:2379"
		}, []string{"10.0.0.1/32", "10.0.0.2/32"}},
		"a name": {func(c *config.Config) {
			c.ControlPlane.BackingStore.Database.External = config.ExternalDatabase{Enabled: true, DataSource: "postgres://u:p@localhost:5432/"}
		}, []string{"127.0.0.1/32"}},
	} {
		t.Run(name, func(t *testing.T) {
			c := &config.Config{}
			tc.set(c)
			got, err := DatastoreEgress(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			}
			if len(tc.want) == 0 && len(got) != 0 {
				t.Errorf("got %v, want nothing", got)
			}
		})
	}
	c := &config.Config{}
	c.ControlPlane.BackingStore.Database.External = config.ExternalDatabase{Enabled: true, DataSource: "postgres://u:secret@no-such-host.invalid:5432/"}
	_, err := DatastoreEgress(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "no-such-host.invalid") || strings.Contains(err.Error(), "secret") {
		t.Errorf("an unresolvable host: %v", err)
	}
}
