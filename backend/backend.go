// Package backend starts the datastore of a virtual cluster: kine in-process over SQLite,
// MySQL/MariaDB or PostgreSQL, embedded etcd, or an external etcd cluster. Whatever starts it,
// the control plane receives an Endpoint (etcd URLs + client TLS files) and nothing else.
package backend

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// Kind names a datastore.
type Kind string

// The datastores vkube can run against.
const (
	SQLite       Kind = "sqlite"
	MySQL        Kind = "mysql"
	Postgres     Kind = "postgres"
	EtcdEmbedded Kind = "etcd"
	EtcdExternal Kind = "etcd-external"
)

// Config is what a backend needs. Fields not used by a Kind are ignored.
type Config struct {
	Kind Kind
	// DataDir holds the SQLite file, the kine socket and the embedded etcd data.
	DataDir string
	// DSN of an external database (mysql://… or postgres://…). A DSN naming no database gets
	// DatabaseName instead of kine's shared default.
	DSN          string
	DatabaseName string
	// Endpoints of an external etcd cluster.
	Endpoints []string
	// ClientTLS is the TLS vkube and the apiserver use to reach an external database or etcd.
	ClientTLS TLSFiles
	// Etcd configures the embedded etcd member.
	Etcd   EmbeddedEtcdConfig
	Logger *slog.Logger
	// ListenTCP makes kine listen on a loopback TCP port instead of a unix socket, for clients
	// (k3s, k0s) that take only TCP etcd URLs.
	ListenTCP bool
	// LoopbackTLS secures kine whenever it listens on TCP: any local user can connect to a
	// loopback port, and the datastore holds every Secret of the virtual cluster.
	LoopbackTLS LoopbackTLS
	// Registerer receives the datastore's metrics (nil: none).
	Registerer prometheus.Registerer
}

// LoopbackTLS is kine's side and the control plane's side of a mutually authenticated TCP
// connection: kine serves with ServingCert/Key and requires a client certificate signed by
// ClientCA (a CA nothing but vkube signs with: the etcd CA); the control plane dials with Client.
type LoopbackTLS struct {
	ServingCert, ServingKey, ClientCA string
	Client                            TLSFiles
}

// TLSFiles are PEM file paths.
type TLSFiles struct {
	CAFile, CertFile, KeyFile string
}

// Endpoint is how the control plane reaches the datastore.
type Endpoint struct {
	// Servers are etcd client URLs (unix://… for kine's socket).
	Servers []string
	TLS     TLSFiles
	// Prefix is the key prefix the control plane stores under ("": its default /registry). An
	// external etcd may serve several virtual clusters, so each gets a prefix of its own, as
	// each gets a database of its own on a database server.
	Prefix string
}

// Backend is a started datastore.
type Backend interface {
	Kind() Kind
	Endpoint() Endpoint
	// Ready is closed once the datastore serves.
	Ready() <-chan struct{}
	// Err delivers a failure the backend cannot recover from by itself.
	Err() <-chan error
	Stop(ctx context.Context) error
}

// Start starts the datastore named by cfg.Kind; the one place a Kind maps to an implementation.
// It returns once the datastore is configured; Ready tells when it serves. A database server that
// cannot be reached is retried with backoff (logged) until ctx ends, never given up silently.
func Start(ctx context.Context, cfg Config) (Backend, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = cfg.Logger.With("component", "backend", "backend", string(cfg.Kind))
	switch cfg.Kind {
	case SQLite, "":
		cfg.Kind = SQLite
		return startKine(ctx, cfg, &externalDSN{endpoint: sqliteDSN(cfg.DataDir)})
	case MySQL, Postgres:
		dsn, err := parseExternalDSN(cfg.DSN, cfg.DatabaseName)
		if err != nil {
			return nil, err
		}
		return startKine(ctx, cfg, dsn)
	case EtcdEmbedded:
		return startEmbeddedEtcd(ctx, cfg)
	case EtcdExternal:
		return startExternalEtcd(ctx, cfg)
	default:
		return nil, fmt.Errorf("backend %q is not known: use sqlite, mysql, postgres or etcd", cfg.Kind)
	}
}
