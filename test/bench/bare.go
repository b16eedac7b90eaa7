package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/binaries"
	"vkube.io/vkube/certs"
	"vkube.io/vkube/config"
	"vkube.io/vkube/distro"
)

// bareCluster is the reference: the same kube-apiserver (and kube-controller-manager) command
// lines vkube renders, started by hand from the bench, on a datastore the bench starts itself.
// Everything a person would prepare beforehand (PKI, kubeconfigs, a database server) is ready
// before the clock starts; the datastore process itself is part of the timed start.
type bareCluster struct {
	name  string
	dir   string
	port  int
	pki   *certs.PKI
	comps map[string]distro.Component

	store *proc // the datastore child (nil for an external etcd)
	api   *proc
	kcm   *proc
	// admin is the admin kubeconfig.
	admin string
}

// prepareBare issues the PKI and kubeconfigs like the supervisor does.
func prepareBare(ctx context.Context, e *env, name, dir string) (*bareCluster, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	b := &bareCluster{name: name, dir: dir, port: ports[0], admin: filepath.Join(dir, "admin.kubeconfig")}
	pkiDir := filepath.Join(dir, "pki")
	b.pki, _, err = certs.Ensure(ctx, certs.NewDirStore(pkiDir), pkiDir, certs.Options{Name: name,
		IPs: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}})
	if err != nil {
		return nil, err
	}
	server := "https://127.0.0.1:" + strconv.Itoa(b.port)
	for id, file := range map[certs.Identity]string{certs.ControllerManager: "controller-manager.conf", certs.Scheduler: "scheduler.conf"} {
		if err := b.pki.WriteKubeconfig(filepath.Join(dir, "kubeconfigs", file), server, id, "vkube"); err != nil {
			return nil, err
		}
	}
	if err := b.pki.WriteKubeconfig(b.admin, server, certs.Admin, "bare"); err != nil {
		return nil, err
	}
	return b, nil
}

// startStore starts the bare datastore (spec.Kind != "") or takes an external etcd's endpoint.
func (b *bareCluster) startStore(ctx context.Context, spec datastoreSpec, externalEtcd string) (backend.Endpoint, error) {
	if externalEtcd != "" {
		return backend.Endpoint{Servers: []string{externalEtcd}}, nil
	}
	p, ep, err := startDatastore(ctx, spec, b.dir)
	if err != nil {
		return ep, err
	}
	b.store = p
	return ep, nil
}

// render asks vkube's k8s driver for the component command lines, for the datastore at ep.
func (b *bareCluster) render(e *env, ep backend.Endpoint) error {
	cfg := &config.Config{Name: b.name}
	cfg.SetKubernetesVersion(e.kubeVersion)
	cfg.SetDefaults()
	drv, err := distro.Get("k8s")
	if err != nil {
		return err
	}
	o := distro.Options{Config: cfg, Replicas: 1, DataDir: b.dir, PKI: b.pki, Endpoint: ep,
		BindAddress: "127.0.0.1", AdvertiseAddress: "127.0.0.1", Port: b.port,
		ServiceCIDR: cfg.ServiceCIDR(), ClusterDomain: cfg.ClusterDomain()}
	if o.BinDir, err = binaries.Find(e.kubeVersion, drv.Binaries(o)...); err != nil {
		return err
	}
	comps, err := drv.Components(o)
	if err != nil {
		return err
	}
	b.comps = map[string]distro.Component{}
	for _, c := range comps {
		b.comps[c.Name] = c
	}
	return nil
}

// startComponent starts one rendered component: the same command line as under vkube, but not
// vkube's Go runtime settings (c.Env): the reference is the binary as its authors tuned it, so
// that a GOGC or GOMEMLIMIT that saves memory shows what it costs in the write figure.
func (b *bareCluster) startComponent(name string) (*proc, error) {
	c, ok := b.comps[name]
	if !ok {
		return nil, fmt.Errorf("the k8s driver renders no %s", name)
	}
	return startProc(procSpec{name: "bare " + name, path: c.Path, args: c.Args, dir: b.dir,
		log: filepath.Join(b.dir, name+".log")})
}

// start brings up datastore and apiserver (and the controller-manager when withKCM), returning
// when the API is usable; the duration is from the datastore's start.
func (b *bareCluster) start(ctx context.Context, e *env, spec datastoreSpec, externalEtcd string, withKCM bool) (time.Duration, error) {
	began := time.Now()
	ep, err := b.startStore(ctx, spec, externalEtcd)
	if err != nil {
		return 0, err
	}
	if err := b.render(e, ep); err != nil {
		return 0, err
	}
	if b.api, err = b.startComponent("kube-apiserver"); err != nil {
		return 0, err
	}
	took, err := b.waitUsable(ctx, began, 3*time.Minute)
	if err != nil {
		return 0, err
	}
	if withKCM {
		if b.kcm, err = b.startComponent("kube-controller-manager"); err != nil {
			return 0, err
		}
	}
	return took, nil
}

// waitUsable polls the apiserver's /readyz and GET /api with the admin kubeconfig.
func (b *bareCluster) waitUsable(ctx context.Context, began time.Time, timeout time.Duration) (time.Duration, error) {
	cfg, err := restConfig(b.admin)
	if err != nil {
		return 0, err
	}
	api, err := newAPIClient(cfg, 2*time.Second)
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if b.api.exited() {
			return 0, fmt.Errorf("bare kube-apiserver exited (%v); log tail:\n%s", b.api.err, tailFile(b.api.log, 30))
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("bare kube-apiserver not usable within %s (last: %v); log tail:\n%s", timeout, last, tailFile(b.api.log, 30))
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if last = api.usable(ctx); last == nil {
			return time.Since(began), nil
		}
		time.Sleep(pollInterval)
	}
}

// pids of the running processes: datastore, apiserver, controller-manager.
func (b *bareCluster) pids() map[string]int {
	out := map[string]int{}
	for name, p := range map[string]*proc{"datastore": b.store, "kube-apiserver": b.api, "kube-controller-manager": b.kcm} {
		if p != nil && !p.exited() {
			out[name] = p.pid()
		}
	}
	return out
}

// stop stops the components in reverse order.
func (b *bareCluster) stop() error {
	if b == nil {
		return nil
	}
	var first error
	for _, p := range []*proc{b.kcm, b.api, b.store} {
		if p == nil {
			continue
		}
		if err := p.stop(30 * time.Second); err != nil && first == nil {
			first = err
		}
	}
	return first
}
