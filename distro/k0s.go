package distro

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"vkube.io/vkube/certs"
)

// k0sDriver runs one `k0s controller` with a generated ClusterConfig whose storage is vkube's
// datastore (kine speaks the etcd API, so every backend is an "external etcd cluster" to k0s).
type k0sDriver struct{}

func init() { register(k0sDriver{}) }

func (k0sDriver) Name() string { return "k0s" }

func (k0sDriver) Needs() Needs { return Needs{SingleBinary: true, DatastoreTCP: true} }

func (k0sDriver) Binaries(Options) []string { return []string{"k0s"} }

// Prepare has nothing to do: k0s keeps what it needs across starts in its own data dir.
func (k0sDriver) Prepare(*Options) error { return nil }

// k0sPKIFiles are the files k0s uses from <data-dir>/pki instead of generating its own.
var k0sPKIFiles = [][2]string{
	{"ca.crt", certs.CACert}, {"ca.key", certs.CAKey},
	{"front-proxy-ca.crt", certs.FrontProxyCACert}, {"front-proxy-ca.key", certs.FrontProxyCAKey},
	{"sa.key", certs.SAKey}, {"sa.pub", certs.SAPub},
	{"etcd/ca.crt", certs.EtcdCACert}, {"etcd/ca.key", certs.EtcdCAKey},
}

func (k0sDriver) Components(o Options) ([]Component, error) {
	s := o.Config.ControlPlane.Distro.K0s
	if err := tcpEndpoint("k0s", o.Endpoint); err != nil {
		return nil, err
	}
	dir := filepath.Join(o.DataDir, "k0s")
	cfgPath := filepath.Join(dir, "k0s.yaml")
	// k0s trusts a single CA for clients, the one that signs its own components; vkube's client
	// certificates (admin, readiness probe) come from the client CA, so the apiserver gets both.
	clientCAs := filepath.Join(dir, "pki", "client-ca-bundle.crt")
	cfg, files, err := k0sConfig(o, clientCAs, s.Config)
	if err != nil {
		return nil, err
	}
	files[cfgPath] = cfg
	files[clientCAs] = bytes.Join([][]byte{o.PKI.File(certs.ClientCACert), o.PKI.File(certs.CACert)}, nil)
	for _, f := range k0sPKIFiles {
		files[filepath.Join(dir, "pki", f[0])] = o.PKI.File(f[1])
	}

	disabled := []string{"konnectivity-server"}
	if !o.Config.VirtualSchedulerEnabled() {
		disabled = append(disabled, "kube-scheduler")
	}
	disabled = append(disabled, "csr-approver", "kube-proxy", "coredns", "network-provider", "helm",
		"metrics-server", "worker-config", "autopilot")
	f := newFlags().
		set("config", cfgPath).
		set("data-dir", dir).
		set("status-socket", filepath.Join(dir, "status.sock")).
		set("disable-components", strings.Join(disabled, ","))
	args := append([]string{"controller"}, f.withExtra(s.ExtraArgs)...)
	path, args := commandOrDefault(o.Binary, args, s.Command, s.ExtraArgs)
	env := append(goRuntimeEnv("k0s"), envList(s.Env)...)
	return []Component{{Name: "k0s", Path: path, Args: args, Env: env, Files: files, ServesAPI: true}}, nil
}

// k0sConfig renders the ClusterConfig with the user's YAML merged over it, and the files it
// refers to besides. The user's document may be a whole ClusterConfig (it has apiVersion, kind
// or spec) or just the spec.
func k0sConfig(o Options, clientCAs, user string) ([]byte, map[string][]byte, error) {
	files := map[string][]byte{}
	controllers := "*"
	for _, c := range disabledControllers {
		controllers += ",-" + c
	}
	apiArgs := map[string]any{"endpoint-reconciler-type": "none", "client-ca-file": clientCAs}
	if o.BindAddress != "" {
		apiArgs["bind-address"] = o.BindAddress
	}
	api := map[string]any{"address": o.AdvertiseAddress, "port": o.Port, "extraArgs": apiArgs}
	if sans := o.Config.ControlPlane.Proxy.ExtraSANs; len(sans) > 0 {
		api["sans"] = sans
	}
	// k0s requires a prefix; /registry is the apiserver's own default, what the k8s driver
	// leaves in place when the datastore has no prefix (kine: a database per cluster).
	prefix := o.Endpoint.Prefix
	if prefix == "" {
		prefix = "/registry"
	}
	external := map[string]any{"endpoints": o.Endpoint.Servers, "etcdPrefix": prefix}
	for k, v := range map[string]string{"caFile": o.Endpoint.TLS.CAFile, "clientCertFile": o.Endpoint.TLS.CertFile, "clientKeyFile": o.Endpoint.TLS.KeyFile} {
		if v != "" {
			external[k] = v
		}
	}
	spec := map[string]any{
		"api":               api,
		"controllerManager": map[string]any{"extraArgs": map[string]any{"controllers": controllers}},
		"network": map[string]any{
			"serviceCIDR":   o.ServiceCIDR,
			"clusterDomain": o.ClusterDomain,
			// No CNI: pods run on the host cluster's network.
			"provider": "custom",
		},
		"storage":   map[string]any{"type": "etcd", "etcd": map[string]any{"externalCluster": external}},
		"telemetry": map[string]any{"enabled": false},
	}
	doc := map[string]any{
		"apiVersion": "k0s.k0sproject.io/v1beta1",
		"kind":       "ClusterConfig",
		"metadata":   map[string]any{"name": "k0s"},
		"spec":       spec,
	}
	if strings.TrimSpace(user) != "" {
		var over map[string]any
		if err := yaml.Unmarshal([]byte(user), &over); err != nil {
			return nil, nil, fmt.Errorf("k0s: controlPlane.distro.k0s.config: %w", err)
		}
		_, a := over["apiVersion"]
		_, k := over["kind"]
		_, sp := over["spec"]
		if a || k || sp {
			mergeMaps(doc, over)
		} else {
			mergeMaps(spec, over)
		}
	}
	if o.WebhookAddress != "" {
		if err := k0sWebhookClient(o, doc, files); err != nil {
			return nil, nil, err
		}
	}
	out, err := yaml.Marshal(doc)
	return out, files, err
}

// k0sWebhookClient gives the API server vkube's kubelet-client certificate (the kubelet
// endpoint admits no other; k0s would issue its own) and the admission configuration that
// presents the webhook client certificate to vkube's Service webhook, merged with the user's
// own admission configuration, if spec.api.extraArgs names one.
func k0sWebhookClient(o Options, doc map[string]any, files map[string][]byte) error {
	spec, _ := doc["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
		doc["spec"] = spec
	}
	api, _ := spec["api"].(map[string]any)
	if api == nil {
		api = map[string]any{}
		spec["api"] = api
	}
	args, _ := api["extraArgs"].(map[string]any)
	if args == nil {
		args = map[string]any{}
		api["extraArgs"] = args
	}
	userFile, _ := args["admission-control-config-file"].(string)
	path, fs, err := webhookAdmission(o.DataDir, o.WebhookAddress, o.PKI, "controlPlane.distro.k0s.config", userFile)
	if err != nil {
		return err
	}
	for p, data := range fs {
		files[p] = data
	}
	args["admission-control-config-file"] = path
	args["kubelet-client-certificate"] = o.PKI.Path(certs.APIServerKubeletClientCert)
	args["kubelet-client-key"] = o.PKI.Path(certs.APIServerKubeletClientKey)
	return nil
}

// mergeMaps merges src over dst: mappings merge key by key, anything else replaces, and a null
// removes the key so that a generated setting can be dropped.
func mergeMaps(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeMaps(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}
