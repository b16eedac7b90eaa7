package hostcluster

import (
	"context"

	"k8s.io/client-go/kubernetes"
)

// start runs every component, in the order their dependencies need, while the test images and
// the addons binary build alongside.
func (c *Cluster) start(ctx context.Context, logf func(string, ...any)) error {
	cfg, b, l := c.cfg, c.bins, newLayout(c.cfg.Dir)
	images := async(func() ([]string, error) { return cfg.buildImages(ctx) })
	addonsBin := async(func() (string, error) { return cfg.buildAddons(ctx) })

	var started []string
	run := func(p proc) error {
		did, err := l.ensureRunning(p)
		if err != nil {
			return err
		}
		started = append(started, p.name)
		if did {
			logf("started %s", p.name)
		}
		return nil
	}
	for _, p := range []proc{cfg.containerdProc(b), cfg.etcdProc(b), cfg.apiserverProc(b), cfg.coreDNSProc(b)} {
		if err := run(p); err != nil {
			return err
		}
	}
	// kubelet exits at once when the runtime's socket does not answer yet.
	if err := c.waitFor(ctx, "containerd", started, c.containerdUp); err != nil {
		return err
	}
	for _, p := range []proc{cfg.kubeletProc(b), cfg.kubeProxyProc(b)} {
		if err := run(p); err != nil {
			return err
		}
	}
	client, err := c.Client()
	if err != nil {
		return err
	}
	if err := c.waitFor(ctx, "kube-apiserver", started, apiserverReady(client)); err != nil {
		return err
	}
	logf("kube-apiserver ready")
	// Both exit when they start before the apiserver has bootstrapped its RBAC roles.
	for _, p := range []proc{cfg.controllerManagerProc(b), cfg.schedulerProc(b)} {
		if err := run(p); err != nil {
			return err
		}
	}
	if err := cfg.ensureDNSService(ctx, client); err != nil {
		return err
	}
	tars, err := images.wait()
	if err != nil {
		return err
	}
	for _, t := range tars {
		if err := cfg.importImage(ctx, b, t); err != nil {
			return err
		}
	}
	logf("test images imported")
	bin, err := addonsBin.wait()
	if err != nil {
		return err
	}
	if err := run(cfg.addonsProc(bin)); err != nil {
		return err
	}
	return c.waitReady(ctx, client, started, logf)
}

func (c *Cluster) waitReady(ctx context.Context, client kubernetes.Interface, started []string, logf func(string, ...any)) error {
	steps := []struct {
		what string
		cond func(context.Context) error
	}{
		{"node " + c.cfg.NodeName + " Ready", c.nodeReady(client)},
		{"default service account", defaultServiceAccount(client)},
		{"kube-proxy's first sync", c.kubeProxySynced},
		{"DNS on the kube-dns ClusterIP", c.dnsAnswers},
		{"storage class", storageClass(client)},
	}
	for _, s := range steps {
		if err := c.waitFor(ctx, s.what, started, s.cond); err != nil {
			return err
		}
		logf("%s", s.what)
	}
	return nil
}
