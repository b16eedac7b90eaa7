package distro

import (
	"path/filepath"
	"strconv"
	"strings"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/config"
)

// disabledControllers need real nodes or a cloud; a virtual cluster has neither.
var disabledControllers = []string{"nodeipam", "nodelifecycle", "persistentvolume-binder", "attachdetach",
	"persistentvolume-expander", "cloud-node-lifecycle", "ttl"}

// k8sDriver runs upstream kube-apiserver, kube-controller-manager and optionally kube-scheduler.
type k8sDriver struct {
	name string
	// extraDefaults are flags a flavour (eks) adds to the apiserver's defaults.
	apiserverDefaults map[string]string
}

func init() {
	register(&k8sDriver{name: "k8s"})
}

func (d *k8sDriver) Name() string { return d.name }

// Needs nothing special: the apiserver takes kine's unix socket, and the binaries are upstream's.
func (d *k8sDriver) Needs() Needs { return Needs{} }

// Prepare has nothing to keep: the PKI and the datastore are all the components' state.
func (d *k8sDriver) Prepare(*Options) error { return nil }

func (d *k8sDriver) settings(cfg *config.Config) config.K8sDistro {
	if d.name == "eks" {
		return cfg.ControlPlane.Distro.EKS
	}
	return cfg.ControlPlane.Distro.K8s
}

func (d *k8sDriver) Binaries(opts Options) []string {
	bins := []string{"kube-apiserver", "kube-controller-manager"}
	if opts.Config.VirtualSchedulerEnabled() {
		bins = append(bins, "kube-scheduler")
	}
	return bins
}

func (d *k8sDriver) Components(opts Options) ([]Component, error) {
	s := d.settings(opts.Config)
	env := envList(s.Env)
	api, err := d.apiserver(opts, s)
	if err != nil {
		return nil, err
	}
	kcm := d.controllerManager(opts, s)
	comps := []Component{api, kcm}
	if opts.Config.VirtualSchedulerEnabled() {
		comps = append(comps, d.scheduler(opts, s))
	}
	for i := range comps {
		comps[i].Env = append(comps[i].Env, env...)
	}
	return comps, nil
}

func (d *k8sDriver) apiserver(o Options, s config.K8sDistro) (Component, error) {
	p := o.PKI.Path
	f := newFlags().
		set("advertise-address", o.AdvertiseAddress).
		set("bind-address", o.BindAddress).
		set("secure-port", strconv.Itoa(o.Port)).
		set("service-cluster-ip-range", o.ServiceCIDR).
		set("allow-privileged", "true").
		set("authorization-mode", "Node,RBAC").
		set("enable-admission-plugins", "NodeRestriction").
		set("client-ca-file", p(certs.ClientCACert)).
		set("enable-bootstrap-token-auth", "true").
		set("etcd-servers", strings.Join(o.Endpoint.Servers, ","))
	if o.Endpoint.Prefix != "" {
		f.set("etcd-prefix", o.Endpoint.Prefix)
	}
	if o.Endpoint.TLS.CAFile != "" {
		f.set("etcd-cafile", o.Endpoint.TLS.CAFile)
	}
	if o.Endpoint.TLS.CertFile != "" {
		f.set("etcd-certfile", o.Endpoint.TLS.CertFile).set("etcd-keyfile", o.Endpoint.TLS.KeyFile)
	}
	f.set("proxy-client-cert-file", p(certs.FrontProxyClientCert)).
		set("proxy-client-key-file", p(certs.FrontProxyClientKey)).
		set("requestheader-allowed-names", "front-proxy-client").
		set("requestheader-client-ca-file", p(certs.FrontProxyCACert)).
		set("requestheader-extra-headers-prefix", "X-Remote-Extra-").
		set("requestheader-group-headers", "X-Remote-Group").
		set("requestheader-username-headers", "X-Remote-User").
		set("service-account-issuer", "https://kubernetes.default.svc."+o.ClusterDomain).
		set("service-account-key-file", p(certs.SAPub)).
		set("service-account-signing-key-file", p(certs.SAKey)).
		set("tls-cert-file", p(certs.APIServerCert)).
		set("tls-private-key-file", p(certs.APIServerKey)).
		set("kubelet-client-certificate", p(certs.APIServerKubeletClientCert)).
		set("kubelet-client-key", p(certs.APIServerKubeletClientKey)).
		set("kubelet-certificate-authority", p(certs.CACert)).
		set("kubelet-preferred-address-types", "InternalIP,Hostname").
		set("endpoint-reconciler-type", "none").
		set("profiling", "false").
		set("cert-dir", filepath.Join(o.DataDir, "apiserver")).
		// Fewer concurrent requests than a shared cluster's apiserver needs: a virtual cluster
		// serves one tenant.
		set("max-requests-inflight", "200").
		set("max-mutating-requests-inflight", "100")
	for k, v := range d.apiserverDefaults {
		f.set(k, v)
	}
	extra := s.APIServer.ExtraArgs
	var files map[string][]byte
	if o.WebhookAddress != "" && len(s.APIServer.Command) == 0 {
		// The user's own admission configuration is merged into vkube's, not replaced by it.
		userFile, rest := takeFlag(extra, "--admission-control-config-file")
		path, fs, err := webhookAdmission(o.DataDir, o.WebhookAddress, o.PKI, "controlPlane.distro."+d.name+".apiServer.extraArgs", userFile)
		if err != nil {
			return Component{}, err
		}
		f.set("admission-control-config-file", path)
		extra, files = rest, fs
	}
	path, args := commandOrDefault(filepath.Join(o.BinDir, "kube-apiserver"), f.withExtra(extra), s.APIServer.Command, s.APIServer.ExtraArgs)
	return Component{Name: "kube-apiserver", Path: path, Args: args, ServesAPI: true, Env: goRuntimeEnv("kube-apiserver"), Files: files}, nil
}

func (d *k8sDriver) controllerManager(o Options, s config.K8sDistro) Component {
	p := o.PKI.Path
	kubeconfig := filepath.Join(o.DataDir, "kubeconfigs", "controller-manager.conf")
	controllers := "*"
	for _, c := range disabledControllers {
		controllers += ",-" + c
	}
	f := newFlags().
		set("kubeconfig", kubeconfig).
		set("authentication-kubeconfig", kubeconfig).
		set("authorization-kubeconfig", kubeconfig).
		set("bind-address", "127.0.0.1").
		// No serving port: 40 virtual clusters on one machine must not collide, and the
		// supervisor watches the process itself.
		set("secure-port", "0").
		set("service-cluster-ip-range", o.ServiceCIDR).
		set("cluster-name", "kubernetes").
		set("cluster-signing-cert-file", p(certs.ClientCACert)).
		set("cluster-signing-key-file", p(certs.ClientCAKey)).
		set("root-ca-file", p(certs.CACert)).
		set("service-account-private-key-file", p(certs.SAKey)).
		set("use-service-account-credentials", "true").
		set("leader-elect", strconv.FormatBool(o.Replicas > 1)).
		set("controllers", controllers).
		set("node-monitor-grace-period", "180s").
		set("node-monitor-period", "30s").
		set("horizontal-pod-autoscaler-sync-period", "60s").
		// client-go's default 20 QPS caps how fast Deployments turn into Pods.
		set("kube-api-qps", "100").
		set("kube-api-burst", "200").
		set("cert-dir", filepath.Join(o.DataDir, "controller-manager"))
	path, args := commandOrDefault(filepath.Join(o.BinDir, "kube-controller-manager"), f.withExtra(s.ControllerManager.ExtraArgs), s.ControllerManager.Command, s.ControllerManager.ExtraArgs)
	return Component{Name: "kube-controller-manager", Path: path, Args: args, Env: goRuntimeEnv("kube-controller-manager")}
}

func (d *k8sDriver) scheduler(o Options, s config.K8sDistro) Component {
	kubeconfig := filepath.Join(o.DataDir, "kubeconfigs", "scheduler.conf")
	f := newFlags().
		set("kubeconfig", kubeconfig).
		set("authentication-kubeconfig", kubeconfig).
		set("authorization-kubeconfig", kubeconfig).
		set("bind-address", "127.0.0.1").
		set("secure-port", "0").
		set("leader-elect", strconv.FormatBool(o.Replicas > 1)).
		set("kube-api-qps", "100").
		set("kube-api-burst", "200")
	path, args := commandOrDefault(filepath.Join(o.BinDir, "kube-scheduler"), f.withExtra(s.Scheduler.ExtraArgs), s.Scheduler.Command, s.Scheduler.ExtraArgs)
	return Component{Name: "kube-scheduler", Path: path, Args: args, Env: goRuntimeEnv("kube-scheduler")}
}

// goRuntimeEnv makes the Go garbage collector of a child keep its heap closer to what is live;
// the idle-memory target of a virtual cluster is well under what the binaries take by default.
// The API server serves every write, so its collector is the one the tenant's throughput pays
// for: GOGC=25 there cost a quarter more CPU per 1000 creates than the default, GOGC=50 stays
// within the noise of the bare binary, for 23 MiB more idle heap than 25. The controller manager
// and scheduler mostly wait, so they collect more often. A GOGC, unlike a GOMEMLIMIT, costs in
// proportion: a tenant with a large live heap pays more collections, never a collector running
// flat out against a fixed limit. k3s and k0s run everything in one process: the middle value.
func goRuntimeEnv(component string) []string {
	switch component {
	case "kube-controller-manager", "kube-scheduler":
		return []string{"GOGC=25"}
	default:
		return []string{"GOGC=50"}
	}
}

func envList(vars []config.EnvVar) []string {
	out := make([]string, 0, len(vars))
	for _, v := range vars {
		out = append(out, v.Name+"="+v.Value)
	}
	return out
}
