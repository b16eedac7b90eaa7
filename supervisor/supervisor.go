package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/tools/clientcmd"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/certs"
	"vkube.io/vkube/distro"
	"vkube.io/vkube/process"
	"vkube.io/vkube/syncer"
)

// Supervisor is a running virtual cluster. Its shape follows etcd's embed: Ready, Err, Stop.
type Supervisor struct {
	opts  Options
	ready chan struct{}
	errc  chan error
	// stops undoes what has started, in reverse: a refused start and Stop both run it.
	stops teardown
	// stateSaved: the data dir records this cluster, so a refused start no longer removes it.
	stateSaved bool
	host       *hostCluster
	mu         sync.Mutex // guards backend, cp and syncer, set by the bring-up and read elsewhere
	backend    backend.Backend
	cp         *distro.ControlPlane
	syncer     *syncer.Syncer
	// webhookListener is the Service webhook's, opened before the API server (nil standalone).
	webhookListener net.Listener
	// HealthAddr is where /healthz, /readyz and /metrics are served.
	HealthAddr net.Addr
	// Kubeconfig is the path of the admin kubeconfig, written once the API is usable.
	Kubeconfig string
	// APIServer is the https URL of the virtual API.
	APIServer string
}

// Start validates the environment, then brings the virtual cluster up in the background.
// Everything that can be refused up front (a changed distro or backend, a missing binary, a
// locked data dir) is refused before anything is written.
func Start(ctx context.Context, opts Options) (_ *Supervisor, err error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	cfg, log := opts.Config, opts.Logger
	driver, err := distro.Get(cfg.DistroName())
	if err != nil {
		return nil, err
	}
	kind, err := backend.KindOf(cfg)
	if err != nil {
		return nil, err
	}
	version := cfg.KubernetesVersion()
	dopts := distro.Options{Config: cfg, Namespace: opts.Namespace, Replicas: cfg.Replicas()}
	if err := locateBinaries(driver, version, &dopts); err != nil {
		return nil, err
	}
	want, err := wantedState(opts.DataDir, state{Name: cfg.Name, Distro: driver.Name(), Backend: string(kind), Port: opts.Port, Created: time.Now().UTC()})
	if err != nil {
		return nil, err
	}

	s := &Supervisor{opts: opts, ready: make(chan struct{}), errc: make(chan error, 1)}
	o := &s.opts
	// Every refusal from here on undoes what had started, as Stop would.
	defer func() {
		if err != nil {
			_ = s.stops.run(context.Background())
		}
	}()
	release, err := claimDataDir(o.DataDir)
	if err != nil {
		return nil, err
	}
	s.stops.push(func(context.Context) error { release(s.stateSaved); return nil })
	if want.Port == 0 {
		if want.Port, err = freePort(o.BindAddress); err != nil {
			return nil, err
		}
	}
	if err := checkPortFree(o.BindAddress, want.Port); err != nil {
		return nil, err
	}
	o.Port = want.Port
	if s.host, err = connectHost(ctx, o); err != nil {
		return nil, err
	}
	if err := s.host.isolate(ctx, o); err != nil {
		return nil, err
	}
	if err := saveState(o.DataDir, want); err != nil {
		return nil, fmt.Errorf("recording data dir state: %w", err)
	}
	s.stateSaved = true

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, c := range append(append(process.Collectors(), syncer.Collectors()...), pagedOutBytes) {
		_ = reg.Register(c)
	}
	addr, stopHTTP, err := serveHealth(ctx, orDefault(o.HealthAddress, "127.0.0.1:0"), s.readyErr, reg, o.Profiling)
	if err != nil {
		return nil, err
	}
	s.stops.push(stopHTTP)
	s.HealthAddr = addr
	s.APIServer = "https://" + net.JoinHostPort(apiHost(*o), strconv.Itoa(o.Port))
	s.Kubeconfig = orDefault(o.KubeconfigPath, filepath.Join(o.DataDir, "kubeconfig.yaml"))
	log.Info("starting virtual cluster", "name", cfg.Name, "distro", driver.Name(), "version", version, "backend", kind,
		"dataDir", o.DataDir, "api", s.APIServer, "health", "http://"+addr.String())

	if err := s.listenWebhook(&dopts); err != nil {
		return nil, err
	}
	pki, changes, err := certs.Ensure(ctx, s.pkiStore(), filepath.Join(o.DataDir, "pki"), certOptions(*o, s.host))
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	for _, c := range changes {
		log.Info("certificates: " + c)
	}
	bcfg, err := backendConfig(*o, pki, reg, driver.Needs(), s.host)
	if err != nil {
		return nil, err
	}
	be, err := backend.Start(ctx, bcfg)
	if err != nil {
		return nil, err
	}
	s.setParts(be, nil)
	s.stops.push(func(ctx context.Context) error {
		s.leaveIfScaledDown(ctx, be)
		return be.Stop(ctx)
	})
	dopts.PKI, dopts.DataDir = pki, o.DataDir
	dopts.BindAddress, dopts.AdvertiseAddress, dopts.Port = o.BindAddress, o.AdvertiseAddress, o.Port
	dopts.ServiceCIDR, dopts.ClusterDomain = cfg.ServiceCIDR(), cfg.ClusterDomain()
	if err := driver.Prepare(&dopts); err != nil {
		return nil, fmt.Errorf("distro %s: %w", driver.Name(), err)
	}
	go s.run(ctx, be, driver, dopts, pki)
	return s, nil
}

// run brings up what waits on the datastore, reports the cluster ready, and then keeps its
// certificates fresh until ctx ends.
func (s *Supervisor) run(ctx context.Context, be backend.Backend, driver distro.Driver, dopts distro.Options, pki *certs.PKI) {
	o := s.opts
	server := orDefault(o.Config.Exporting.Server, s.APIServer)
	contextName := orDefault(o.Config.Exporting.Context, "vkube-"+o.Config.Name)
	cp, err := s.bringUp(ctx, be, driver, dopts, pki, server, contextName)
	if err != nil {
		// Cut short by the end of ctx is a stop, not a failure.
		if ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
			s.fail(err)
		}
		return
	}
	o.Logger.Info("virtual cluster ready", "kubeconfig", s.Kubeconfig, "server", server)
	close(s.ready)
	if o.Config.ControlPlane.Advanced.PageOutStartupCode.On(true) {
		go s.pageOutStartupCode(ctx, cp)
	}
	s.renewCerts(ctx, s.APIServer, server, contextName)
}

// bringUp is the rest of the start, in order: the control plane once the datastore serves, the
// admin kubeconfig once the API does, then the host side (standalone: the note on pods no node
// will run). Each part records its undo as it starts.
func (s *Supervisor) bringUp(ctx context.Context, be backend.Backend, driver distro.Driver, dopts distro.Options, pki *certs.PKI,
	server, contextName string) (*distro.ControlPlane, error) {
	log := s.opts.Logger
	if err := waitFor(ctx, log, "waiting for the datastore", be.Ready(), be.Err()); err != nil {
		return nil, err
	}
	dopts.Endpoint = be.Endpoint()
	if err := s.writeComponentKubeconfigs(pki, s.APIServer); err != nil {
		return nil, err
	}
	comps, err := driver.Components(dopts)
	if err != nil {
		return nil, err
	}
	cp, err := distro.Run(ctx, dopts, comps, s.opts.Output, log)
	if err != nil {
		return nil, err
	}
	s.setParts(be, cp)
	s.stops.push(cp.Stop)
	if err := waitFor(ctx, log, "waiting for the API server", cp.Ready(), cp.Err()); err != nil {
		return nil, err
	}
	if err := pki.WriteKubeconfig(s.Kubeconfig, server, certs.Admin, contextName); err != nil {
		return nil, fmt.Errorf("writing the admin kubeconfig: %w", err)
	}
	if err := s.enforcePodSecurity(ctx); err != nil {
		return nil, fmt.Errorf("enforcing the pod security standard: %w", err)
	}
	vcfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading the admin kubeconfig: %w", err)
	}
	if s.host == nil {
		if err := explainUnrunnablePods(ctx, vcfg, log); err != nil {
			return nil, fmt.Errorf("watching pods: %w", err)
		}
		return cp, nil
	}
	if err := s.host.publishKubeconfig(ctx, pki, s.opts.Config.Name, contextName, s.opts.Config.Exporting.Server); err != nil {
		return nil, fmt.Errorf("publishing the kubeconfig Secret: %w", err)
	}
	sc, err := s.serveAcrossClusters(ctx, pki, vcfg)
	if err != nil {
		return nil, fmt.Errorf("starting the syncer: %w", err)
	}
	// Again, now that the DNS Service exists: the workloads' NetworkPolicy admits it.
	if err := s.host.isolate(ctx, &s.opts); err != nil {
		return nil, err
	}
	sy, err := s.startSyncer(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("starting the syncer: %w", err)
	}
	// With one replica the syncer runs now, and the cluster is ready once it syncs; with more,
	// it runs on the Lease holder only, which reports its failure itself (syncWhileLeading).
	if sy != nil {
		if err := waitFor(ctx, log, "waiting for the syncer's caches", sy.Ready(), sy.Err()); err != nil {
			return nil, err
		}
	}
	return cp, nil
}

func (s *Supervisor) writeComponentKubeconfigs(pki *certs.PKI, server string) error {
	for _, k := range []struct {
		id   certs.Identity
		file string
	}{{certs.ControllerManager, "controller-manager.conf"}, {certs.Scheduler, "scheduler.conf"}} {
		if err := pki.WriteKubeconfig(filepath.Join(s.opts.DataDir, "kubeconfigs", k.file), server, k.id, "vkube"); err != nil {
			return fmt.Errorf("writing %s: %w", k.file, err)
		}
	}
	return nil
}

// Ready is closed once the API serves and the admin kubeconfig is written.
func (s *Supervisor) Ready() <-chan struct{} { return s.ready }

// Err delivers a failure the supervisor cannot recover from.
func (s *Supervisor) Err() <-chan error { return s.errc }

// ControlPlane is the running control plane (nil until the datastore is ready).
func (s *Supervisor) ControlPlane() *distro.ControlPlane {
	_, cp := s.parts()
	return cp
}

// setParts publishes the backend and control plane to the health handler's goroutines.
func (s *Supervisor) setParts(b backend.Backend, cp *distro.ControlPlane) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.backend, s.cp = b, cp
}

func (s *Supervisor) parts() (backend.Backend, *distro.ControlPlane) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backend, s.cp
}

func (s *Supervisor) readyErr() error {
	be, cp := s.parts()
	if be == nil {
		return errors.New("starting")
	}
	select {
	case <-be.Ready():
	default:
		return errors.New("datastore not ready")
	}
	if cp == nil || !cp.Healthy() {
		return errors.New("API server not ready")
	}
	select {
	case <-s.ready:
		return nil
	default:
		return errors.New("starting")
	}
}

func (s *Supervisor) fail(err error) {
	select {
	case s.errc <- err:
	default:
	}
}

// Stop stops what runs in reverse start order: the syncer, the control plane, the datastore, the
// webhook's listener, the health server, and last the data dir's lock.
func (s *Supervisor) Stop(ctx context.Context) error {
	return s.stops.run(ctx)
}

// waitFor waits for a part to be ready, saying every 5 s what it waits for. The part's failure
// or the end of ctx ends the wait with that error.
func waitFor(ctx context.Context, log *slog.Logger, what string, ready <-chan struct{}, errc <-chan error) error {
	start := time.Now()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ready:
			return nil
		case err := <-errc:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			log.Info(what, "elapsed", time.Since(start).Round(time.Second).String())
		}
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
