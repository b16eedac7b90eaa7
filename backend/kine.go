package backend

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/k3s-io/kine/pkg/drivers/generic"
	"github.com/k3s-io/kine/pkg/endpoint"
	"github.com/k3s-io/kine/pkg/tls"
	"k8s.io/apimachinery/pkg/util/wait"

	"vkube.io/vkube/config"
)

// kineBackend serves the etcd API from kine inside the vkube process.
type kineBackend struct {
	kind     Kind
	endpoint Endpoint
	// serverTLS is kine's serving TLS on TCP (zero on the unix socket).
	serverTLS tls.Config
	lifecycle
	wg sync.WaitGroup
}

// maxUnixSocketPath is sun_path's size minus the terminating NUL.
const maxUnixSocketPath = 107

// startKine serves dsn (nil info: SQLite) through kine.
func startKine(ctx context.Context, cfg Config, dsn *externalDSN) (Backend, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("backend: data dir: %w", err)
	}
	socket, err := filepath.Abs(filepath.Join(cfg.DataDir, "kine.sock"))
	if err != nil {
		return nil, err
	}
	// The unix socket is 0600 (kine chmods it): only vkube's user reaches it.
	listener := "unix://" + socket
	b := &kineBackend{kind: cfg.Kind, lifecycle: newLifecycle()}
	b.endpoint = Endpoint{Servers: []string{listener}}
	if len(socket) > maxUnixSocketPath || cfg.ListenTCP {
		// On TCP every local user can connect: kine requires a client certificate of vkube's.
		t := cfg.LoopbackTLS
		if t.ServingCert == "" || t.ServingKey == "" || t.ClientCA == "" || t.Client.CertFile == "" {
			return nil, fmt.Errorf("backend: kine on loopback TCP needs its TLS files (serving pair, client CA, client pair): it never serves the datastore unauthenticated")
		}
		port, err := freeLoopbackPort()
		if err != nil {
			return nil, err
		}
		listener = fmt.Sprintf("tcp://127.0.0.1:%d", port)
		b.endpoint = Endpoint{Servers: []string{fmt.Sprintf("https://127.0.0.1:%d", port)}, TLS: t.Client}
		b.serverTLS = tls.Config{CertFile: t.ServingCert, KeyFile: t.ServingKey, TrustedCAFile: t.ClientCA}
	}
	routeKineLogs(cfg.Logger, dsn.password)

	kctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go func() {
		defer close(b.stopped)
		b.run(ctx, kctx, cfg, dsn, listener)
		<-kctx.Done()
		b.wg.Wait()
	}()
	// kine outlives ctx (the process's signal context): Stop ends it, after the control plane
	// that still uses it.
	return b, nil
}

// run starts kine, retrying with backoff while the database cannot be reached or refuses us.
func (b *kineBackend) run(ctx, kctx context.Context, cfg Config, dsn *externalDSN, listener string) {
	backoff := wait.Backoff{Duration: time.Second, Factor: 1.5, Jitter: 0.1, Steps: 100, Cap: 15 * time.Second}
	for attempt := 1; ; attempt++ {
		err := b.listen(kctx, cfg, dsn, listener)
		if err == nil {
			close(b.ready)
			return
		}
		delay := backoff.Step()
		cfg.Logger.Error("datastore not available yet; retrying", "attempt", attempt, "retryIn", delay.Round(100*time.Millisecond), "error", scrub(err.Error(), dsn.password))
		select {
		case <-kctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func (b *kineBackend) listen(ctx context.Context, cfg Config, dsn *externalDSN, listener string) error {
	if b.kind != SQLite {
		if err := dialOnce(ctx, dsn.network(), hostWithPort(dsn.info)); err != nil {
			return fmt.Errorf("database server %s unreachable: %w", dsn.info.Host, err)
		}
	}
	checkCreates()
	lctx, cancel := context.WithCancel(ctx)
	_, err := endpoint.Listen(lctx, endpoint.Config{
		Listener:             listener,
		Endpoint:             dsn.endpoint,
		WaitGroup:            &b.wg,
		ServerTLSConfig:      b.serverTLS,
		BackendTLSConfig:     tls.Config{CAFile: cfg.ClientTLS.CAFile, CertFile: cfg.ClientTLS.CertFile, KeyFile: cfg.ClientTLS.KeyFile},
		MetricsRegisterer:    cfg.Registerer,
		ConnectionPoolConfig: generic.ConnectionPoolConfig{MaxIdle: 20, MaxIdleTime: 2 * time.Minute},
		NotifyInterval:       5 * time.Second,
		EmulatedETCDVersion:  "3.6.11",
		CompactInterval:      5 * time.Minute,
		CompactTimeout:       5 * time.Second,
		CompactMinRetain:     1000,
		CompactBatchSize:     1000,
		PollBatchSize:        500,
		PollInterval:         time.Second,
	})
	if err != nil {
		cancel()
		return err
	}
	go func() { <-ctx.Done(); cancel() }()
	cfg.Registerer = nil // metrics register once; a retried Listen must not panic on duplicates
	return nil
}

// hostWithPort adds the scheme's default port when the DSN names none.
func hostWithPort(info config.DSNInfo) string {
	if strings.HasPrefix(info.Host, "/") {
		return info.Host
	}
	if _, _, err := net.SplitHostPort(info.Host); err == nil {
		return info.Host
	}
	if info.Kind == config.BackendMySQL {
		return net.JoinHostPort(info.Host, "3306")
	}
	return net.JoinHostPort(info.Host, "5432")
}

func (b *kineBackend) Kind() Kind         { return b.kind }
func (b *kineBackend) Endpoint() Endpoint { return b.endpoint }

// sqliteDSN is kine's SQLite endpoint with WAL and the busy timeout k3s uses.
func sqliteDSN(dataDir string) string {
	abs, err := filepath.Abs(filepath.Join(dataDir, "state.db"))
	if err != nil {
		abs = filepath.Join(dataDir, "state.db")
	}
	return "sqlite://" + abs + "?_journal_mode=WAL&_busy_timeout=30000&_synchronous=NORMAL&_txlock=immediate&cache=shared"
}
