package backend

import (
	"fmt"
	"strings"

	"vkube.io/vkube/config"
)

// KindOf is the datastore a virtual cluster's configuration selects.
func KindOf(cfg *config.Config) (Kind, error) {
	switch k := cfg.BackendKind(); k {
	case config.BackendSQLite:
		return SQLite, nil
	case config.BackendMySQL:
		return MySQL, nil
	case config.BackendPostgres:
		return Postgres, nil
	case config.BackendEtcdEmbedded:
		return EtcdEmbedded, nil
	case config.BackendEtcdExternal:
		return EtcdExternal, nil
	default:
		return "", fmt.Errorf("controlPlane.backingStore: cannot tell the datastore (%s): check the DSN's scheme", k)
	}
}

// ConfigFor is the datastore that virtual cluster cfg.Name in host namespace namespace ("":
// standalone) uses: its kind, DSN and database, or external etcd endpoints, and the client TLS
// files. Running it needs more (DataDir, Logger, the embedded etcd's certificates): the caller
// adds them.
func ConfigFor(cfg *config.Config, namespace string) (Config, error) {
	kind, err := KindOf(cfg)
	if err != nil {
		return Config{}, err
	}
	bc := Config{Kind: kind, DatabaseName: DatabaseName(namespace, cfg.Name)}
	switch kind {
	case MySQL, Postgres:
		ext := cfg.ControlPlane.BackingStore.Database.External
		dsn, err := ext.DSN()
		if err != nil {
			return bc, err
		}
		bc.DSN = dsn
		bc.ClientTLS = TLSFiles{CAFile: ext.CAFile, CertFile: ext.CertFile, KeyFile: ext.KeyFile}
	case EtcdExternal:
		e := cfg.ControlPlane.BackingStore.Etcd.External
		for _, ep := range strings.Split(e.Endpoint, ",") {
			if ep = strings.TrimSpace(ep); ep != "" {
				bc.Endpoints = append(bc.Endpoints, ep)
			}
		}
		bc.ClientTLS = TLSFiles{CAFile: e.TLS.CAFile, CertFile: e.TLS.CertFile, KeyFile: e.TLS.KeyFile}
	}
	return bc, nil
}
