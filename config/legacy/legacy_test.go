package legacy_test

import (
	"strings"
	"testing"

	"vkube.io/vkube/config"
	"vkube.io/vkube/config/encoding"
	"vkube.io/vkube/config/legacy"
)

func TestInferDistroFromImage(t *testing.T) {
	for image, w := range map[string]struct {
		distro, version string
		ok              bool
	}{
		"rancher/k3s:v1.23.5-k3s1":                       {config.DistroK3s, "v1.23.5+k3s1", true},
		"docker.io/rancher/k3s:v1.30.4-k3s2@sha256:0123": {config.DistroK3s, "v1.30.4+k3s2", true},
		"rancher/k3s":                                                            {config.DistroK3s, "", true},
		"k0sproject/k0s:v1.26.0-k0s.0":                                           {config.DistroK0s, "v1.26.0+k0s.0", true},
		"registry.k8s.io/kube-apiserver:v1.25.0":                                 {config.DistroK8s, "v1.25.0", true},
		"cr7258/k8s.gcr.io.kube-apiserver:v1.25.0":                               {config.DistroK8s, "v1.25.0", true},
		"cr7258/k8s.gcr.io.kube-controller-manager:v1.25.0":                      {config.DistroK8s, "v1.25.0", true},
		"k8s.gcr.io/kube-scheduler:1.24.3":                                       {config.DistroK8s, "v1.24.3", true},
		"localhost:5000/kube-apiserver":                                          {config.DistroK8s, "", true},
		"public.ecr.aws/eks-distro/kubernetes/kube-apiserver:v1.25.6-eks-1-25-9": {config.DistroEKS, "v1.25.6", true},
		"cr7258/k8s.gcr.io.etcd:3.5.4-0":                                         {"", "", false},
		"loftsh/vcluster:0.12.0":                                                 {"", "", false},
		"":                                                                       {"", "", false},
	} {
		d, v, ok := legacy.InferDistroFromImage(image)
		if d != w.distro || v != w.version || ok != w.ok {
			t.Errorf("legacy.InferDistroFromImage(%q) = %q, %q, %v; want %q, %q, %v", image, d, v, ok, w.distro, w.version, w.ok)
		}
	}
}

func loadLegacy(t *testing.T, doc string) (*config.Config, []string) {
	t.Helper()
	c, warnings, err := encoding.Load([]byte(doc))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	wantWarning(t, warnings, "legacy vcluster chart values")
	return c, warnings
}

// Everything vkube cannot honour is listed in one warning line; no-op values pass silently.
func TestLegacyUnsupportedKeysInOneWarning(t *testing.T) {
	_, warnings := loadLegacy(t, `
vcluster:
  image: rancher/k3s:v1.29.1-k3s1
fallbackHostDns: true
multiNamespaceMode:
  enabled: true
plugin:
  hooks:
    image: example/hook
job:
  enabled: true
openshift:
  enable: false
telemetry:
  disabled: true
init:
  manifests: |-
    ---
sync:
  serviceaccounts:
    enabled: true
  volumesnapshots:
    enabled: false
  configmaps:
    enabled: true
    all: true
syncer:
  image: loftsh/vcluster:0.15.0
  extraArgs:
  - --some-flag=s3cr3t
  - --other-flag
  - value-of-other
  livenessProbe:
    enabled: true
`)
	var lines []string
	for _, w := range warnings {
		if strings.Contains(w, "ignored:") {
			lines = append(lines, w)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("want one warning listing ignored keys, got %q", warnings)
	}
	for _, k := range []string{"fallbackHostDns", "multiNamespaceMode", "plugin", "job", "sync.serviceaccounts",
		"sync.configmaps.all", "syncer.image", "syncer.extraArgs --some-flag", "syncer.extraArgs --other-flag"} {
		if !strings.Contains(lines[0], k) {
			t.Errorf("ignored-keys warning lacks %s: %s", k, lines[0])
		}
	}
	for _, k := range []string{"openshift", "telemetry", "init", "volumesnapshots", "livenessProbe", "s3cr3t", "value-of-other"} {
		if strings.Contains(lines[0], k) {
			t.Errorf("ignored-keys warning should not mention %s: %s", k, lines[0])
		}
	}
}

func TestLegacySyncerArgs(t *testing.T) {
	c, warnings := loadLegacy(t, `
syncer:
  kubeConfigContextName: team-a
  extraArgs:
  - --tls-san=a.example.com,b.example.com
  - --tls-san
  - 10.0.0.10
  - --out-kube-config-server=https://a.example.com
  - --override-hosts-container-image=registry.example.com/alpine:3.13.1
  - --sync=-ingresses,+networkpolicies,hoststorageclasses
  - --enforce-pod-security-standard=restricted
  - --sync-all-nodes
  - --node-selector=disktype=ssd
  - --map-host-service=cert-manager/cert-manager=kube-system/cert-manager
  - --map-virtual-service=default/app=app
  - --name=team-a
  - --set-owner
`)
	want(t, "SANs", c.ControlPlane.Proxy.ExtraSANs, []string{"a.example.com", "b.example.com", "10.0.0.10"})
	want(t, "server", c.Exporting.Server, "https://a.example.com")
	want(t, "context", c.Exporting.Context, "team-a")
	// vcluster's helper image is a shell; vkube's helper runs vkube.
	want(t, "hosts image", c.Sync.ToHost.RewriteHostsImage, "")
	wantWarning(t, warnings, "--override-hosts-container-image", "alpine:3.13.1", "ignored")
	want(t, "ingresses", c.Sync.ToHost.Ingresses.On(true), false)
	want(t, "networkpolicies", c.Sync.ToHost.NetworkPolicies.On(false), true)
	want(t, "host storage classes", c.Sync.FromHost.StorageClasses.On(false), true)
	want(t, "pss", c.Policies.PodSecurityStandard, "restricted")
	want(t, "nodes", c.Sync.FromHost.Nodes, config.NodeSync{Enabled: true, SyncAll: true, Selector: map[string]string{"disktype": "ssd"}})
	want(t, "fromHost", c.Networking.ReplicateServices.FromHost, []config.ServiceMapping{{From: "cert-manager/cert-manager", To: "kube-system/cert-manager"}})
	want(t, "toHost", c.Networking.ReplicateServices.ToHost, []config.ServiceMapping{{From: "default/app", To: "app"}})
	c.Name = "team-a"
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestLegacyK3sDatastore(t *testing.T) {
	c, _ := loadLegacy(t, `
vcluster:
  image: rancher/k3s:v1.29.1-k3s1
  extraArgs:
  - --datastore-endpoint=mysql://vk:pw@tcp(mysql:3306)/vk
  - --datastore-cafile=/tls/ca.crt
  - --cluster-domain=corp.local
  - --kube-apiserver-arg=v=2
k3sToken: abc
`)
	ext := c.ControlPlane.BackingStore.Database.External
	want(t, "external", ext.Enabled, true)
	want(t, "dsn", ext.DataSource, "mysql://vk:pw@tcp(mysql:3306)/vk")
	want(t, "ca", ext.CAFile, "/tls/ca.crt")
	want(t, "backend", c.BackendKind(), config.BackendMySQL)
	want(t, "domain", c.ControlPlane.Advanced.ClusterDomain, "corp.local")
	want(t, "k3s args", c.ControlPlane.Distro.K3s.ExtraArgs, []string{"--kube-apiserver-arg=v=2"})
	want(t, "token", c.ControlPlane.Distro.K3s.Token, "abc")

	c, _ = loadLegacy(t, "vcluster:\n  image: rancher/k3s:v1.29.1-k3s1\n  extraArgs: [\"--datastore-endpoint=https://etcd-0:2379,https://etcd-1:2379\", --datastore-certfile=/c, --datastore-keyfile=/k]\n")
	want(t, "etcd backend", c.BackendKind(), config.BackendEtcdExternal)
	want(t, "etcd endpoint", c.ControlPlane.BackingStore.Etcd.External.Endpoint, "https://etcd-0:2379,https://etcd-1:2379")
	want(t, "etcd tls", c.ControlPlane.BackingStore.Etcd.External.TLS, config.TLSFiles{CertFile: "/c", KeyFile: "/k"})
}

func TestLegacyPasswordNeverInErrors(t *testing.T) {
	c, _ := loadLegacy(t, "vcluster:\n  image: rancher/k3s:v1.29.1-k3s1\n  extraArgs: [\"--datastore-endpoint=mysql://root:Hunter2Pw@mysql:3306/vk\"]\n")
	c.SetDefaults()
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "controlPlane.backingStore.database.external.dataSource") {
		t.Fatalf("Validate = %v, want a dataSource error", err)
	}
	if strings.Contains(err.Error(), "Hunter2Pw") {
		t.Errorf("password leaked: %v", err)
	}
}

func TestLegacyK8sChart(t *testing.T) {
	c, warnings := loadLegacy(t, `
api:
  image: registry.k8s.io/kube-apiserver:v1.29.0
  extraArgs: [--service-cluster-ip-range=10.43.0.0/16, --oidc-issuer-url=https://dex]
  env:
  - name: GODEBUG
    value: x509sha1=1
  - name: FROM_SECRET
    valueFrom: {secretKeyRef: {name: s, key: k}}
controller:
  image: registry.k8s.io/kube-controller-manager:v1.29.1
  extraArgs: [--kube-api-qps=50]
scheduler:
  extraArgs: [--v=2]
etcd:
  extraArgs: [--quota-backend-bytes=8589934592]
`)
	k := c.ControlPlane.Distro.K8s
	want(t, "enabled", k.Enabled, true)
	want(t, "version from api.image", k.Version, "v1.29.0")
	want(t, "service CIDR", c.ControlPlane.Advanced.ServiceCIDR, "10.43.0.0/16")
	want(t, "api args", k.APIServer.ExtraArgs, []string{"--oidc-issuer-url=https://dex"})
	want(t, "cm args", k.ControllerManager.ExtraArgs, []string{"--kube-api-qps=50"})
	want(t, "scheduler args", k.Scheduler.ExtraArgs, []string{"--v=2"})
	want(t, "env", k.Env, []config.EnvVar{{Name: "GODEBUG", Value: "x509sha1=1"}})
	want(t, "etcd args", c.ControlPlane.BackingStore.Etcd.Embedded.ExtraArgs, []string{"--quota-backend-bytes=8589934592"})
	wantWarning(t, warnings, "controller.image is v1.29.1", "v1.29.0")
	wantWarning(t, warnings, "ignored:", "api.env[FROM_SECRET].valueFrom")

	c, _ = loadLegacy(t, "api:\n  image: public.ecr.aws/eks-distro/kubernetes/kube-apiserver:v1.28.5-eks-1-28-12\n")
	want(t, "eks", c.DistroName(), config.DistroEKS)
	want(t, "eks version", c.KubernetesVersion(), "v1.28.5")

	// The k8s chart's component flags reach k3s through its pass-through flags.
	c, _ = loadLegacy(t, "vcluster:\n  image: rancher/k3s:v1.29.1-k3s1\napi:\n  extraArgs: [--audit-log-maxage, \"30\", --v=2]\ncontroller:\n  extraArgs: [--node-monitor-period=5s]\n")
	want(t, "k3s pass-through", c.ControlPlane.Distro.K3s.ExtraArgs, []string{
		"--kube-apiserver-arg=audit-log-maxage=30", "--kube-apiserver-arg=v=2", "--kube-controller-manager-arg=node-monitor-period=5s"})
}

func TestLegacyCommand(t *testing.T) {
	c, warnings := loadLegacy(t, "vcluster:\n  image: rancher/k3s:v1.29.1-k3s1\n  command: [/bin/k3s]\n  baseArgs: [server, --disable-agent]\n  extraArgs: [--debug]\n")
	k := c.ControlPlane.Distro.K3s
	want(t, "command", k.Command, []string{"/bin/k3s", "server", "--disable-agent"})
	want(t, "extra args kept", k.ExtraArgs, []string{"--debug"})
	wantWarning(t, warnings, "replace vkube's whole k3s command line")

	c, warnings = loadLegacy(t, "vcluster:\n  extraArgs: [--debug]\n")
	want(t, "k3s assumed", c.DistroName(), config.DistroK3s)
	wantWarning(t, warnings, "assuming the k3s chart")
}

func TestLegacyHA(t *testing.T) {
	c, warnings := loadLegacy(t, "enableHA: true\nsyncer:\n  replicas: 3\napi:\n  replicas: 3\ncontroller:\n  replicas: 2\n")
	want(t, "replicas", c.Replicas(), 3)
	want(t, "etcd for HA", c.BackendKind(), config.BackendEtcdEmbedded)
	wantWarning(t, warnings, "using 3 replicas", "controller.replicas 2")

	_, warnings = loadLegacy(t, "enableHA: true\n")
	wantWarning(t, warnings, "enableHA is set but no component has more than 1 replica")

	// HA with the k3s distro is refused at validation, naming the fix.
	c, _ = loadLegacy(t, "vcluster:\n  image: rancher/k3s:v1.29.1-k3s1\nreplicas: 3\n")
	c.SetDefaults()
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "controlPlane.statefulSet.highAvailability.replicas: Forbidden: 3 replicas with distro k3s") {
		t.Errorf("Validate = %v", err)
	}
}

func TestLegacySecurityContext(t *testing.T) {
	c, warnings := loadLegacy(t, `
securityContext:
  runAsUser: 1000
  fsGroup: 2000
  capabilities:
    drop: [all, net_raw]
    add: [CAP_NET_BIND_SERVICE, cap_sys_time]
syncer:
  securityContext:
    runAsUser: 1001
    readOnlyRootFilesystem: true
    capabilities:
      add: [NET_BIND_SERVICE]
`)
	sec := c.ControlPlane.StatefulSet.Security
	want(t, "container", sec.ContainerSecurityContext, map[string]any{
		"runAsUser": int64(1000), "readOnlyRootFilesystem": true,
		"capabilities":   map[string]any{"drop": []any{"ALL", "NET_RAW"}, "add": []any{"SYS_TIME"}},
		"seccompProfile": map[string]any{"type": "RuntimeDefault"},
	})
	want(t, "pod", sec.PodSecurityContext, map[string]any{"fsGroup": int64(2000)})
	wantWarning(t, warnings, "securityContext.capabilities.add: removed CAP_NET_BIND_SERVICE", "does not need it")
	wantWarning(t, warnings, "syncer.securityContext.capabilities.add: removed NET_BIND_SERVICE")
	wantWarning(t, warnings, "syncer.securityContext.runAsUser is 1001", "keeps 1000")

	// No drop ALL: the context is not aiming at restricted, so no seccomp profile is added.
	c, _ = loadLegacy(t, "securityContext:\n  runAsNonRoot: true\n")
	want(t, "untouched", c.ControlPlane.StatefulSet.Security.ContainerSecurityContext, map[string]any{"runAsNonRoot": true})
}

func TestLegacyPodSettings(t *testing.T) {
	c, _ := loadLegacy(t, `
vcluster:
  image: rancher/k3s:v1.29.1-k3s1
  resources:
    limits: {memory: 2Gi}
    requests: {cpu: 200m, memory: 256Mi}
  volumeMounts:
  - {name: data, mountPath: /data}
  - {name: audit, mountPath: /etc/audit}
  env:
  - {name: K3S_DEBUG, value: "true"}
syncer:
  resources:
    limits: {memory: 1Gi}
    requests: {cpu: 10m, memory: 64Mi}
  env:
  - {name: DEBUG, value: 1}
volumes:
- {name: audit, configMap: {name: audit-policy}}
storage:
  persistence: false
  size: 10Gi
nodeSelector:
  kubernetes.io/os: linux
tolerations:
- {key: dedicated, operator: Exists}
podLabels:
  team: a
`)
	sts := c.ControlPlane.StatefulSet
	want(t, "summed resources", sts.Resources, map[string]any{
		"limits": map[string]any{"memory": "3Gi"}, "requests": map[string]any{"cpu": "210m", "memory": "320Mi"},
	})
	want(t, "mounts", sts.ExtraVolumeMounts, []map[string]any{{"name": "audit", "mountPath": "/etc/audit"}})
	want(t, "volumes", sts.ExtraVolumes, []map[string]any{{"name": "audit", "configMap": map[string]any{"name": "audit-policy"}}})
	want(t, "persistence", *sts.Persistence.VolumeClaim.Enabled, false)
	want(t, "size", sts.Persistence.VolumeClaim.Size, "10Gi")
	want(t, "nodeSelector", sts.NodeSelector, map[string]string{"kubernetes.io/os": "linux"})
	want(t, "tolerations", sts.Tolerations, []map[string]any{{"key": "dedicated", "operator": "Exists"}})
	want(t, "podLabels", sts.PodLabels, map[string]string{"team": "a"})
	want(t, "distro env", c.ControlPlane.Distro.K3s.Env, []config.EnvVar{{Name: "K3S_DEBUG", Value: "true"}})
	want(t, "pod env", sts.Env, []config.EnvVar{{Name: "DEBUG", Value: "1"}})
}

func TestLegacyIsolationAndExposure(t *testing.T) {
	c, warnings := loadLegacy(t, `
isolation:
  enabled: true
  podSecurityStandard: restricted
  resourceQuota:
    enabled: false
  limitRange:
    default: {cpu: "2"}
  networkPolicy:
    outgoingConnections:
      ipBlock:
        cidr: 0.0.0.0/0
        except: [10.0.0.0/8]
ingress:
  enabled: true
  host: vc.example.com
  ingressClassName: nginx
  pathType: Prefix
service:
  type: LoadBalancer
coredns:
  replicas: 2
  image: coredns/coredns:1.11.1
`)
	p := c.Policies
	want(t, "pss", p.PodSecurityStandard, "restricted")
	want(t, "quota off", p.ResourceQuota.Enabled, false)
	want(t, "limit range", p.LimitRange, config.LimitRange{Enabled: true, Default: map[string]string{"cpu": "2"}})
	want(t, "egress", p.NetworkPolicy, config.NetworkPolicy{Enabled: true, OutgoingConnections: config.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8"}}})
	want(t, "ingress", c.ControlPlane.Ingress, config.Ingress{Enabled: true, Host: "vc.example.com", IngressClassName: "nginx"})
	want(t, "service", c.ControlPlane.Service.Type, "LoadBalancer")
	want(t, "coredns", c.ControlPlane.CoreDNS.Deployment, config.CoreDNSDeployment{Replicas: 2, Image: "coredns/coredns:1.11.1"})
	for _, w := range warnings {
		if strings.Contains(w, "ignored:") {
			t.Errorf("nothing should be ignored: %s", w)
		}
	}

	// Disabled blocks are inert, and say nothing.
	c, warnings = loadLegacy(t, "isolation:\n  enabled: false\n  podSecurityStandard: restricted\ningress:\n  enabled: false\n  host: vc.example.com\n")
	want(t, "no policies", c.Policies, config.Policies{})
	want(t, "no ingress", c.ControlPlane.Ingress, config.Ingress{})
	want(t, "only the legacy notice", len(warnings), 1)
}

func TestLegacySyncNodes(t *testing.T) {
	c, _ := loadLegacy(t, "vcluster:\n  image: rancher/k3s:v1.29.1-k3s1\nsync:\n  nodes:\n    enabled: true\n    nodeSelector: disktype=ssd,zone=a\n    enableScheduler: true\n  pods:\n    enabled: true\n    ephemeralContainers: true\n  events:\n    enabled: false\n")
	want(t, "nodes", c.Sync.FromHost.Nodes, config.NodeSync{Enabled: true, Selector: map[string]string{"disktype": "ssd", "zone": "a"}})
	want(t, "k3s scheduler", c.ControlPlane.Advanced.VirtualScheduler.On(false), true)
	want(t, "scheduler", c.VirtualSchedulerEnabled(), true)
	want(t, "pods", c.Sync.ToHost.Pods.On(false), true)
	want(t, "events", c.Sync.FromHost.Events.On(true), false)
}

func TestLegacyTypeErrors(t *testing.T) {
	for doc, wantErr := range map[string]string{
		"storage:\n  persistence: maybe\n":                 "storage.persistence: Invalid value: \"maybe\": must be true or false",
		"syncer:\n  replicas: three\n":                     "syncer.replicas: Invalid value: \"three\": must be a whole number",
		"mapServices:\n  fromHost:\n  - from: a\n":         "mapServices.fromHost[0]: Invalid value",
		"vcluster:\n  extraArgs: {a: b}\n":                 "vcluster.extraArgs: Invalid value",
		"sync:\n  nodes:\n    nodeSelector: \"a in (b\"\n": "sync.nodes.nodeSelector: Invalid value",
		"resources:\n  limits: {cpu: lots}\n":              "resources.limits.cpu: Invalid value",
	} {
		_, _, err := encoding.Load([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("encoding.Load(%q) = %v, want %q", doc, err, wantErr)
		}
	}
}

// Seed 000 repeats `scheduler:`; legacy files keep the last value and say so.
func TestLegacyDuplicateKeysLastWins(t *testing.T) {
	c, warnings := loadLegacy(t, "coredns:\n  replicas: 1\ncoredns:\n  replicas: 2\n")
	want(t, "last wins", c.ControlPlane.CoreDNS.Deployment.Replicas, 2)
	wantWarning(t, warnings, "coredns: duplicate key (lines 1 and 3)")
}

func TestLegacyFlagWithoutValue(t *testing.T) {
	c, warnings := loadLegacy(t, "serviceCIDR: 10.96.0.0/12\nvcluster:\n  image: rancher/k3s:v1.29.1-k3s1\n  extraArgs: [--service-cidr]\nsyncer:\n  extraArgs: [--tls-san]\n")
	want(t, "service CIDR kept", c.ControlPlane.Advanced.ServiceCIDR, "10.96.0.0/12")
	want(t, "no SANs", len(c.ControlPlane.Proxy.ExtraSANs), 0)
	wantWarning(t, warnings, "--service-cidr has no value")
	wantWarning(t, warnings, "--tls-san has no value")
}
