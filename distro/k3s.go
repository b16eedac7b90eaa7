package distro

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/certs"
)

// k3sDriver runs one `k3s server` with everything a virtual cluster does not need disabled, as
// vcluster's k3s distro did. The datastore is vkube's: k3s only gets its etcd endpoint.
type k3sDriver struct{}

func init() { register(k3sDriver{}) }

func (k3sDriver) Name() string { return "k3s" }

func (k3sDriver) Needs() Needs { return Needs{SingleBinary: true, DatastoreTCP: true} }

func (k3sDriver) Binaries(Options) []string { return []string{"k3s"} }

// Prepare gives k3s the token kept in the data dir when the configuration sets none.
func (k3sDriver) Prepare(o *Options) error {
	s := &o.Config.ControlPlane.Distro.K3s
	if s.Token != "" {
		return nil
	}
	token, err := ensureK3sToken(o.DataDir)
	if err != nil {
		return err
	}
	s.Token = token
	return nil
}

// k3sCAFiles maps the files k3s looks for in <data-dir>/server/tls to vkube's bundle: k3s only
// generates a CA whose files are missing, so the virtual cluster keeps vkube's CAs and SA key.
// vkube has one etcd CA where k3s has a server and a peer CA; k3s uses neither with an external
// datastore, they are written so that k3s generates nothing of its own.
var k3sCAFiles = [][2]string{
	{"server-ca.crt", certs.CACert}, {"server-ca.key", certs.CAKey},
	{"client-ca.crt", certs.ClientCACert}, {"client-ca.key", certs.ClientCAKey},
	{"request-header-ca.crt", certs.FrontProxyCACert}, {"request-header-ca.key", certs.FrontProxyCAKey},
	{"service.key", certs.SAKey},
	{"etcd/server-ca.crt", certs.EtcdCACert}, {"etcd/server-ca.key", certs.EtcdCAKey},
	{"etcd/peer-ca.crt", certs.EtcdCACert}, {"etcd/peer-ca.key", certs.EtcdCAKey},
}

func (k3sDriver) Components(o Options) ([]Component, error) {
	s := o.Config.ControlPlane.Distro.K3s
	if err := tcpEndpoint("k3s", o.Endpoint); err != nil {
		return nil, err
	}
	// The token encrypts k3s's bootstrap data in the datastore: it must survive restarts, so
	// Prepare persists it rather than this renderer.
	if s.Token == "" {
		return nil, errors.New("k3s: no cluster token: controlPlane.distro.k3s.token must be set (Prepare generates and persists one)")
	}
	dir := filepath.Join(o.DataDir, "k3s")
	files := map[string][]byte{filepath.Join(dir, "token"): []byte(s.Token + "\n")}
	for _, f := range k3sCAFiles {
		files[filepath.Join(dir, "server", "tls", f[0])] = o.PKI.File(f[1])
	}

	controllers := "*"
	for _, c := range disabledControllers {
		controllers += ",-" + c
	}
	f := newFlags().
		set("write-kubeconfig", filepath.Join(dir, "kubeconfig.yaml")).
		set("data-dir", dir).
		set("service-cidr", o.ServiceCIDR).
		set("cluster-domain", o.ClusterDomain).
		set("token-file", filepath.Join(dir, "token")).
		set("disable", "traefik,servicelb,metrics-server,local-storage,coredns").
		set("egress-selector-mode", "disabled").
		set("flannel-backend", "none").
		set("bind-address", o.BindAddress).
		set("https-listen-port", strconv.Itoa(o.Port)).
		set("advertise-address", o.AdvertiseAddress).
		set("datastore-endpoint", strings.Join(o.Endpoint.Servers, ","))
	if t := o.Endpoint.TLS; t.CAFile != "" {
		f.set("datastore-cafile", t.CAFile)
	}
	if t := o.Endpoint.TLS; t.CertFile != "" {
		f.set("datastore-certfile", t.CertFile).set("datastore-keyfile", t.KeyFile)
	}
	// Switches and repeatable flags cannot go through flagArgs (one value per name); they follow
	// vkube's valued flags and precede the user's appended extraArgs, so the user's still win.
	fixed := []string{"--disable-network-policy", "--disable-agent", "--disable-cloud-controller"}
	if !o.Config.VirtualSchedulerEnabled() {
		// Host-scheduler mode: pods are placed by the host cluster's scheduler.
		fixed = append(fixed, "--disable-scheduler")
	}
	if o.Endpoint.Prefix != "" {
		// k3s has no prefix flag of its own; its apiserver takes etcd's. Two virtual clusters
		// on one external etcd must not share a keyspace.
		fixed = append(fixed, "--kube-apiserver-arg=etcd-prefix="+o.Endpoint.Prefix)
	}
	extra := s.ExtraArgs
	if o.WebhookAddress != "" && len(s.Command) == 0 {
		// The kubelet endpoint admits vkube's kubelet-client certificate, not the one k3s
		// would issue itself; the Service webhook the webhook client certificate.
		const admissionArg = "--kube-apiserver-arg=admission-control-config-file"
		userFile, rest := takeFlag(extra, admissionArg)
		path, fs, err := webhookAdmission(o.DataDir, o.WebhookAddress, o.PKI, "controlPlane.distro.k3s.extraArgs", userFile)
		if err != nil {
			return nil, err
		}
		for p, data := range fs {
			files[p] = data
		}
		extra = rest
		fixed = append(fixed, admissionArg+"="+path,
			"--kube-apiserver-arg=kubelet-client-certificate="+o.PKI.Path(certs.APIServerKubeletClientCert),
			"--kube-apiserver-arg=kubelet-client-key="+o.PKI.Path(certs.APIServerKubeletClientKey))
	}
	fixed = append(fixed,
		"--kube-apiserver-arg=endpoint-reconciler-type=none",
		"--kube-controller-manager-arg=controllers="+controllers)
	for _, san := range o.Config.ControlPlane.Proxy.ExtraSANs {
		fixed = append(fixed, "--tls-san="+san)
	}
	rendered := f.withExtra(extra)
	args := append([]string{"server"}, rendered[:len(f.order)]...)
	args = append(append(args, fixed...), rendered[len(f.order):]...)

	path, args := commandOrDefault(o.Binary, args, s.Command, s.ExtraArgs)
	env := append(goRuntimeEnv("k3s"), envList(s.Env)...)
	return []Component{{Name: "k3s", Path: path, Args: args, Env: env, Files: files, ServesAPI: true}}, nil
}

// tcpEndpoint refuses a datastore endpoint a single-binary distro cannot dial: k3s and k0s take
// etcd URLs only (vkube's kine listens on loopback TCP for them, with mutual TLS).
func tcpEndpoint(distro string, ep backend.Endpoint) error {
	if len(ep.Servers) == 0 {
		return fmt.Errorf("%s: the datastore has no endpoint", distro)
	}
	for _, s := range ep.Servers {
		if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
			return fmt.Errorf("%s: datastore endpoint %q is not an http(s):// etcd URL; start kine on a TCP address for this distro", distro, s)
		}
	}
	return nil
}
