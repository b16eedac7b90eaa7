package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/tools/clientcmd"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/binaries"
	"vkube.io/vkube/certs"
	"vkube.io/vkube/distro"
	"vkube.io/vkube/hostside"
	"vkube.io/vkube/process"
	"vkube.io/vkube/syncer"
)

// Supervisor is a running virtual cluster. Its shape follows etcd's embed: Ready, Err, Stop.
type Supervisor struct {
	opts     Options
	mu       sync.Mutex // guards backend, cp and syncer, set by run and read elsewhere
	backend  backend.Backend
	cp       *distro.ControlPlane
	ready    chan struct{}
	errc     chan error
	stopOnce sync.Once
	stopHTTP func(context.Context) error
	unlock   func()
	host     *hostCluster
	syncer   interface{ Stop(context.Context) error }
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
func Start(ctx context.Context, opts Options) (*Supervisor, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	cfg := opts.Config
	log := opts.Logger
	distroName := cfg.DistroName()
	driver, err := distro.Get(distroName)
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
	prev, err := loadState(opts.DataDir)
	if err != nil {
		return nil, err
	}
	want := state{Name: cfg.Name, Distro: distroName, Backend: string(kind), Port: opts.Port, Created: time.Now().UTC()}
	if prev != nil {
		if err := prev.checkUnchanged(want, opts.DataDir); err != nil {
			return nil, err
		}
		want.Created = prev.Created
		if want.Port == 0 {
			want.Port = prev.Port
		}
	}
	_, statErr := os.Stat(opts.DataDir)
	created := os.IsNotExist(statErr)
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	lockRelease, err := lockDataDir(opts.DataDir)
	if err != nil {
		if created {
			_ = os.Remove(filepath.Join(opts.DataDir, ".lock"))
			_ = os.Remove(opts.DataDir)
		}
		return nil, err
	}
	// Until the state is saved, a refused start leaves a data dir it made as it found it: none.
	stateSaved := false
	unlock := func() {
		if created && !stateSaved {
			_ = os.Remove(filepath.Join(opts.DataDir, ".lock"))
			_ = os.Remove(opts.DataDir)
		}
		lockRelease()
	}
	if want.Port == 0 {
		if want.Port, err = freePort(opts.BindAddress); err != nil {
			unlock()
			return nil, err
		}
	}
	if err := checkPortFree(opts.BindAddress, want.Port); err != nil {
		unlock()
		return nil, err
	}
	opts.Port = want.Port
	host, err := connectHost(ctx, &opts)
	if err != nil {
		unlock()
		return nil, err
	}
	if err := host.isolate(ctx, &opts); err != nil {
		unlock()
		return nil, err
	}
	if err := saveState(opts.DataDir, want); err != nil {
		unlock()
		return nil, fmt.Errorf("recording data dir state: %w", err)
	}
	stateSaved = true

	s := &Supervisor{opts: opts, ready: make(chan struct{}), errc: make(chan error, 1), unlock: unlock, host: host}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, c := range append(append(process.Collectors(), syncer.Collectors()...), pagedOutBytes) {
		_ = reg.Register(c)
	}
	addr, stop, err := serveHealth(ctx, orDefault(opts.HealthAddress, "127.0.0.1:0"), s.readyErr, reg, opts.Profiling)
	if err != nil {
		unlock()
		return nil, err
	}
	s.HealthAddr, s.stopHTTP = addr, stop
	s.APIServer = "https://" + net.JoinHostPort(apiHost(opts), strconv.Itoa(opts.Port))
	s.Kubeconfig = orDefault(opts.KubeconfigPath, filepath.Join(opts.DataDir, "kubeconfig.yaml"))
	log.Info("starting virtual cluster", "name", cfg.Name, "distro", distroName, "version", version, "backend", kind,
		"dataDir", opts.DataDir, "api", s.APIServer, "health", "http://"+addr.String())

	var store certs.Store = certs.NewDirStore(filepath.Join(opts.DataDir, "pki"))
	if host != nil {
		store = host.pkiStore(cfg.Name)
	}
	pki, changes, err := certs.Ensure(ctx, store, filepath.Join(opts.DataDir, "pki"), certOptions(opts, host))
	if err != nil {
		s.shutdown(context.Background())
		return nil, fmt.Errorf("certificates: %w", err)
	}
	for _, c := range changes {
		log.Info("certificates: " + c)
	}

	bcfg, err := backendConfig(opts, pki, reg, driver.Needs(), host)
	if err != nil {
		s.shutdown(context.Background())
		return nil, err
	}
	be, err := backend.Start(ctx, bcfg)
	if err != nil {
		s.shutdown(context.Background())
		return nil, err
	}
	s.setParts(be, nil)
	dopts.PKI = pki
	dopts.DataDir = opts.DataDir
	dopts.BindAddress, dopts.AdvertiseAddress, dopts.Port = opts.BindAddress, opts.AdvertiseAddress, opts.Port
	dopts.ServiceCIDR = cfg.ServiceCIDR()
	dopts.ClusterDomain = cfg.ClusterDomain()
	if err := s.listenWebhook(&dopts); err != nil {
		s.shutdown(context.Background())
		return nil, err
	}
	if err := driver.Prepare(&dopts); err != nil {
		s.shutdown(context.Background())
		return nil, err
	}
	go s.run(ctx, driver, dopts, pki)
	return s, nil
}

func (s *Supervisor) run(ctx context.Context, driver distro.Driver, dopts distro.Options, pki *certs.PKI) {
	log := s.opts.Logger
	if !waitWithProgress(ctx, s.backend.Ready(), s.backend.Err(), log, "waiting for the datastore", s.errc) {
		return
	}
	dopts.Endpoint = s.backend.Endpoint()
	local := "https://" + net.JoinHostPort(apiHost(s.opts), strconv.Itoa(s.opts.Port))
	if err := s.writeComponentKubeconfigs(pki, local); err != nil {
		s.fail(err)
		return
	}
	comps, err := driver.Components(dopts)
	if err != nil {
		s.fail(err)
		return
	}
	cp, err := distro.Run(ctx, dopts, comps, s.opts.Output, log)
	if err != nil {
		s.fail(err)
		return
	}
	s.setParts(s.backend, cp)
	if !waitWithProgress(ctx, cp.Ready(), cp.Err(), log, "waiting for the API server", s.errc) {
		return
	}
	server := orDefault(s.opts.Config.Exporting.Server, local)
	contextName := orDefault(s.opts.Config.Exporting.Context, "vkube-"+s.opts.Config.Name)
	if err := pki.WriteKubeconfig(s.Kubeconfig, server, certs.Admin, contextName); err != nil {
		s.fail(fmt.Errorf("writing the admin kubeconfig: %w", err))
		return
	}
	if err := s.enforcePodSecurity(ctx); err != nil {
		s.fail(err)
		return
	}
	vcfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		s.fail(err)
		return
	}
	if s.host == nil {
		if err := explainUnrunnablePods(ctx, vcfg, log); err != nil {
			s.fail(fmt.Errorf("watching pods: %w", err))
			return
		}
	} else {
		if err := s.host.publishKubeconfig(ctx, pki, s.opts.Config.Name, contextName, s.opts.Config.Exporting.Server); err != nil {
			s.fail(fmt.Errorf("publishing the kubeconfig Secret: %w", err))
			return
		}
		if err := s.startSyncing(ctx, pki, vcfg); err != nil {
			s.fail(fmt.Errorf("starting the syncer: %w", err))
			return
		}
	}
	log.Info("virtual cluster ready", "kubeconfig", s.Kubeconfig, "server", server)
	close(s.ready)
	if s.opts.Config.ControlPlane.Advanced.PageOutStartupCode.On(true) {
		go s.pageOutStartupCode(ctx, cp)
	}
	s.renewCerts(ctx, local, server, contextName)
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

// Stop stops the control plane, then the datastore, then the health server.
func (s *Supervisor) Stop(ctx context.Context) error {
	return s.shutdown(ctx)
}

func (s *Supervisor) shutdown(ctx context.Context) error {
	var errs []error
	s.stopOnce.Do(func() {
		s.mu.Lock()
		sy := s.syncer
		s.mu.Unlock()
		if sy != nil {
			errs = append(errs, sy.Stop(ctx))
		}
		be, cp := s.parts()
		if cp != nil {
			errs = append(errs, cp.Stop(ctx))
		}
		if be != nil {
			s.leaveIfScaledDown(ctx, be)
			errs = append(errs, be.Stop(ctx))
		}
		if s.webhookListener != nil {
			_ = s.webhookListener.Close() // closed already when the webhook served it
		}
		if s.stopHTTP != nil {
			errs = append(errs, s.stopHTTP(ctx))
		}
		if s.unlock != nil {
			s.unlock()
		}
	})
	return errors.Join(errs...)
}

func waitWithProgress(ctx context.Context, ready <-chan struct{}, errc <-chan error, log interface{ Info(string, ...any) }, what string, fail chan error) bool {
	start := time.Now()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ready:
			return true
		case err := <-errc:
			select {
			case fail <- err:
			default:
			}
			return false
		case <-ctx.Done():
			return false
		case <-t.C:
			log.Info(what, "elapsed", time.Since(start).Round(time.Second).String())
		}
	}
}

func locateBinaries(d distro.Driver, version string, o *distro.Options) error {
	if d.Needs().SingleBinary {
		bin, err := binaries.FindSingle(d.Name(), version)
		if err != nil {
			return err
		}
		o.Binary = bin
		return nil
	}
	dir, err := binaries.Find(version, d.Binaries(*o)...)
	if err != nil {
		return err
	}
	o.BinDir = dir
	return nil
}

func backendConfig(o Options, pki *certs.PKI, reg prometheus.Registerer, needs distro.Needs, host *hostCluster) (backend.Config, error) {
	bc, err := backend.ConfigFor(o.Config, o.Namespace)
	if err != nil {
		return bc, err
	}
	bc.DataDir, bc.Logger, bc.Registerer = filepath.Join(o.DataDir, "datastore"), o.Logger, reg
	bc.ListenTCP = needs.DatastoreTCP
	// On TCP, kine is mutual TLS with the etcd CA, which only vkube signs with (the controller
	// manager signs CSRs with the client CA): a local user or a tenant's CSR gets nothing in.
	bc.LoopbackTLS = backend.LoopbackTLS{
		ServingCert: pki.Path(certs.EtcdServerCert), ServingKey: pki.Path(certs.EtcdServerKey), ClientCA: pki.Path(certs.EtcdCACert),
		Client: backend.TLSFiles{CAFile: pki.Path(certs.EtcdCACert), CertFile: pki.Path(certs.APIServerEtcdClientCert), KeyFile: pki.Path(certs.APIServerEtcdClientKey)},
	}
	if bc.Kind != backend.EtcdEmbedded {
		return bc, nil
	}
	bc.Etcd = backend.EmbeddedEtcdConfig{
		ServerCert: pki.Path(certs.EtcdServerCert), ServerKey: pki.Path(certs.EtcdServerKey),
		PeerCert: pki.Path(certs.EtcdPeerCert), PeerKey: pki.Path(certs.EtcdPeerKey),
		CA:     pki.Path(certs.EtcdCACert),
		Client: backend.TLSFiles{CertFile: pki.Path(certs.APIServerEtcdClientCert), KeyFile: pki.Path(certs.APIServerEtcdClientKey)},
	}
	if len(o.Peers) > 0 {
		if err := etcdMembers(o, &bc.Etcd); err != nil {
			return bc, err
		}
		bc.Etcd.AcknowledgeDataLoss = o.Config.ControlPlane.BackingStore.Etcd.Embedded.AcknowledgeDataLoss
		if host != nil {
			bc.Etcd.Record = &hostside.EtcdRecord{Client: host.client, Namespace: host.namespace, VCluster: o.Config.Name}
		}
	}
	return bc, nil
}

func certOptions(o Options, host *hostCluster) certs.Options {
	cfg := o.Config
	co := certs.Options{Name: cfg.Name, Namespace: o.Namespace, ClusterDomain: cfg.ClusterDomain(), Validity: o.CertValidity}
	for _, san := range cfg.ControlPlane.Proxy.ExtraSANs {
		co.DNSNames = append(co.DNSNames, san)
	}
	// Replicas share one PKI, so its SANs must not name any one replica's own address.
	if len(o.Peers) == 0 {
		for _, a := range []string{o.BindAddress, o.AdvertiseAddress} {
			if ip := net.ParseIP(a); ip != nil && !ip.IsUnspecified() {
				co.IPs = append(co.IPs, ip)
			}
		}
	}
	co.EtcdDNSNames = peerSANs(o)
	if ip := firstServiceIP(cfg.ServiceCIDR()); ip != nil {
		co.IPs = append(co.IPs, ip)
	}
	if host != nil {
		if ip := net.ParseIP(host.apiIP); ip != nil {
			co.IPs = append(co.IPs, ip)
		}
	}
	return co
}

// firstServiceIP is the virtual `kubernetes` Service's ClusterIP.
func firstServiceIP(cidr string) net.IP {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil
	}
	ip := append(net.IP{}, n.IP.To16()...)
	ip[len(ip)-1]++
	return ip
}

func apiHost(o Options) string {
	if o.BindAddress == "0.0.0.0" || o.BindAddress == "::" || o.BindAddress == "" {
		return "127.0.0.1"
	}
	return o.BindAddress
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checkPortFree waits a little for the port: the children of a vkube killed a moment ago may
// still be exiting and holding it.
func checkPortFree(host string, port int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			return l.Close()
		}
		// Only a port in use may free itself (a previous run's API server still exiting).
		if !errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("API address %s: %v: check --bind-address and --port", net.JoinHostPort(host, strconv.Itoa(port)), errOf(err))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("API port %s:%d is in use: stop what listens there or pass another --port", host, port)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lockDataDir takes an exclusive flock, so two supervisors never share a data dir; the kernel
// drops it when the process dies, so a killed vkube leaves no stale lock.
func lockDataDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir %s is in use by another vkube: stop it first or use another --data-dir", dir)
	}
	return func() { f.Close() }, nil
}
