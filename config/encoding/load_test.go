package encoding

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"vkube.io/vkube/config"
)

func TestLoadNewFormat(t *testing.T) {
	doc := `
name: team-a
controlPlane:
  distro:
    k8s:
      enabled: true
      version: v1.33.1
      apiServer:
        extraArgs: [--audit-log-path=/var/log/audit.log]
      scheduler:
        enabled: true
  backingStore:
    database:
      external:
        enabled: true
        dataSourceFile: /secrets/dsn
        caFile: /tls/ca.crt
  statefulSet:
    highAvailability:
      replicas: 3
    persistence:
      volumeClaim:
        enabled: false
  proxy:
    extraSANs: [api.team-a.example.com]
  coredns:
    deployment:
      replicas: 2
sync:
  toHost:
    ingresses:
      enabled: true
policies:
  podSecurityStandard: restricted
  resourceQuota:
    enabled: true
    quota:
      count/pods: 20
      limits.cpu: 0.5
`
	c, warnings, err := Load([]byte(doc))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want(t, "warnings", len(warnings), 0)
	want(t, "name", c.Name, "team-a")
	want(t, "version", c.KubernetesVersion(), "v1.33.1")
	want(t, "apiserver args", c.ControlPlane.Distro.K8s.APIServer.ExtraArgs, []string{"--audit-log-path=/var/log/audit.log"})
	want(t, "scheduler", c.VirtualSchedulerEnabled(), true)
	want(t, "dsn file", c.ControlPlane.BackingStore.Database.External.DataSourceFile, "/secrets/dsn")
	want(t, "inline TLS", c.ControlPlane.BackingStore.Database.External.CAFile, "/tls/ca.crt")
	want(t, "replicas", c.Replicas(), 3)
	want(t, "SANs", c.ControlPlane.Proxy.ExtraSANs, []string{"api.team-a.example.com"})
	want(t, "coredns", c.ControlPlane.CoreDNS.Deployment.Replicas, 2)
	want(t, "ingresses", c.Sync.ToHost.Ingresses.On(false), true)
	want(t, "pods unset", c.Sync.ToHost.Pods.Enabled == nil, true)
	want(t, "numbers in string maps", c.Policies.ResourceQuota.Quota, map[string]string{"count/pods": "20", "limits.cpu": "0.5"})
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestLoadUnknownFieldNamesNearestKey(t *testing.T) {
	for doc, wantErr := range map[string]string{
		"controlPlane:\n  distro:\n    k8s:\n      apiServr:\n        extraArgs: [--v=2]\n": `controlPlane.distro.k8s.apiServr: unknown field; did you mean "apiServer"?`,
		"controlPlan:\n  distro: {}\n": `controlPlan: unknown field; did you mean "controlPlane"?`,
		"controlPlane:\n  backingStore:\n    etcd:\n      embeded:\n        enabled: true\n": `controlPlane.backingStore.etcd.embeded: unknown field; did you mean "embedded"?`,
		"controlPlane:\n  distro:\n    k3s:\n      extraArg: []\n":                           `controlPlane.distro.k3s.extraArg: unknown field; did you mean "extraArgs"?`,
		"controlPlane:\n  distro:\n    k8s:\n      env:\n      - nme: A\n":                   `controlPlane.distro.k8s.env[0].nme: unknown field; did you mean "name"?`,
		"controlPlane:\n  statefulSet:\n    highAvailability:\n      replica: 3\n":           `controlPlane.statefulSet.highAvailability.replica: unknown field; did you mean "replicas"?`,
		"sync:\n  toHost:\n    foo: {}\n":                                                    `sync.toHost.foo: unknown field; known fields here: configMaps, endpoints,`,
	} {
		_, _, err := Load([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Load(%q) = %v\nwant an error containing %s", doc, err, wantErr)
		}
	}
}

func TestLoadReportsEveryUnknownField(t *testing.T) {
	_, _, err := Load([]byte("controlPlan: {}\npolicy: {}\n"))
	if err == nil || !strings.Contains(err.Error(), `"controlPlane"`) || !strings.Contains(err.Error(), `"policies"`) {
		t.Errorf("Load = %v, want both unknown keys reported", err)
	}
}

func TestLoadTypeErrors(t *testing.T) {
	for doc, wantErr := range map[string]string{
		"controlPlane:\n  distro:\n    k8s:\n      enabled: \"true\"\n":                 "controlPlane.distro.k8s.enabled: Invalid value: must be true or false",
		"controlPlane:\n  statefulSet:\n    highAvailability:\n      replicas: three\n": "controlPlane.statefulSet.highAvailability.replicas: Invalid value: must be a whole number",
		"controlPlane:\n  proxy:\n    extraSANs: a.example.com\n":                       "controlPlane.proxy.extraSANs: Invalid value: must be a list",
		"controlPlane: []\n": "controlPlane: Invalid value: must be a mapping",
		"controlPlane:\n  statefulSet:\n    highAvailability:\n      replicas: 1.5\n": "whole number",
	} {
		_, _, err := Load([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Load(%q) = %v, want %q", doc, err, wantErr)
		}
	}
}

func TestLoadYAMLShapes(t *testing.T) {
	for doc, wantErr := range map[string]string{
		"":                        "",
		"# nothing yet\n":         "",
		"---\n":                   "",
		"- a\n":                   "must be a YAML mapping",
		"name: a\n---\nname: b\n": "second YAML document",
		"name: [\n":               "invalid YAML",
		"name: a\nname: b\n":      "name: duplicate key (lines 1 and 2): remove one",
		"a: &x\n  b: *x\n":        "refers to a value that contains it",
		"base: &b {enabled: true}\ncontrolPlane:\n  ingress:\n    <<: *b\n    host: h\n": "base: unknown field",
	} {
		_, _, err := Load([]byte(doc))
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("Load(%q) = %v, want no error", doc, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("Load(%q) = %v, want %q", doc, err, wantErr)
		}
	}
	// Merge keys fill what the mapping does not set itself.
	c, _, err := Load([]byte("controlPlane:\n  service: &svc {type: NodePort, nodePort: 30080}\n  ingress:\n    enabled: true\n    host: a.example.com\n    annotations: &a {x: \"1\"}\n  statefulSet:\n    annotations:\n      <<: *a\n      y: \"2\"\n"))
	if err != nil {
		t.Fatalf("Load with anchors: %v", err)
	}
	want(t, "merged annotations", c.ControlPlane.StatefulSet.Annotations, map[string]string{"x": "1", "y": "2"})
}

func TestLoadFilesMergesLikeHelm(t *testing.T) {
	dir := t.TempDir()
	base := write(t, dir, "base.yaml", `
controlPlane:
  distro:
    k8s:
      enabled: true
      version: v1.32.0
      apiServer:
        extraArgs: [--a, --b]
  proxy:
    extraSANs: [a.example.com]
  ingress:
    enabled: true
    host: a.example.com
`)
	override := write(t, dir, "override.yaml", `
controlPlane:
  distro:
    k8s:
      version: v1.33.0
      apiServer:
        extraArgs: [--c]
  ingress: null
`)
	c, _, err := LoadFiles(base, override)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "version overridden", c.KubernetesVersion(), "v1.33.0")
	want(t, "k8s still enabled", c.ControlPlane.Distro.K8s.Enabled, true)
	want(t, "lists replaced", c.ControlPlane.Distro.K8s.APIServer.ExtraArgs, []string{"--c"})
	want(t, "untouched keys kept", c.ControlPlane.Proxy.ExtraSANs, []string{"a.example.com"})
	want(t, "null removes", c.ControlPlane.Ingress, config.Ingress{})

	typo := write(t, dir, "typo.yaml", "controlPlane:\n  proxy:\n    extraSAN: [b]\n")
	_, _, err = LoadFiles(base, typo)
	if err == nil || !strings.Contains(err.Error(), typo+`: controlPlane.proxy.extraSAN: unknown field; did you mean "extraSANs"?`) {
		t.Errorf("LoadFiles = %v, want the typo located in %s", err, typo)
	}
	if _, _, err := LoadFiles(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("LoadFiles(missing) = %v", err)
	}
	bad := write(t, dir, "bad.yaml", "a: [")
	if _, _, err := LoadFiles(bad); err == nil || !strings.HasPrefix(err.Error(), bad+": invalid YAML") {
		t.Errorf("LoadFiles(bad) = %v, want the file named", err)
	}
}

// A legacy file plus a vkube.yaml override: both are honoured, the override last.
func TestLoadMixedLegacyAndNew(t *testing.T) {
	dir := t.TempDir()
	legacy := write(t, dir, "values.yaml", "vcluster:\n  image: rancher/k3s:v1.29.1-k3s2\nsync:\n  ingresses:\n    enabled: true\n")
	newer := write(t, dir, "vkube.yaml", "controlPlane:\n  distro:\n    k3s:\n      version: v1.30.4+k3s1\nsync:\n  toHost:\n    networkPolicies:\n      enabled: true\n")
	c, warnings, err := LoadFiles(legacy, newer)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "distro", c.DistroName(), config.DistroK3s)
	want(t, "version from the override", c.KubernetesVersion(), "v1.30.4+k3s1")
	want(t, "legacy sync", c.Sync.ToHost.Ingresses.On(false), true)
	want(t, "new sync", c.Sync.ToHost.NetworkPolicies.On(false), true)
	if len(warnings) == 0 || warnings[0] != "legacy vcluster chart values (found sync.ingresses, vcluster): converted to the vkube.yaml schema" {
		t.Errorf("warnings = %q", warnings)
	}

	// The vkube.yaml part of a mixed document stays strict.
	_, _, err = Load([]byte("vcluster:\n  image: rancher/k3s:v1.29.1-k3s2\ncontrolPlane:\n  proxi: {}\n"))
	if err == nil || !strings.Contains(err.Error(), `controlPlane.proxi: unknown field; did you mean "proxy"?`) {
		t.Errorf("Load(mixed with typo) = %v", err)
	}
}

func TestFromValues(t *testing.T) {
	// Helm hands over numbers as float64 and lists as []any.
	c, _, err := FromValues(map[string]any{
		"enableHA": true,
		"api":      map[string]any{"image": "registry.k8s.io/kube-apiserver:v1.31.2", "replicas": float64(3)},
		"etcd":     map[string]any{"replicas": float64(3)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want(t, "replicas", c.Replicas(), 3)
	want(t, "version", c.KubernetesVersion(), "v1.31.2")
	c2, _, err := FromValues(map[string]any{"controlPlane": map[string]any{"statefulSet": map[string]any{"highAvailability": map[string]any{"replicas": float64(3)}}}})
	if err != nil {
		t.Fatal(err)
	}
	want(t, "new-format replicas", c2.Replicas(), 3)
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadPodTokenSecrets(t *testing.T) {
	c, _, err := Load([]byte("sync:\n  toHost:\n    pods:\n      enabled: true\n      useSecretsForSATokens: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Sync.ToHost.Pods.UseSecretsForSATokens || !c.Sync.ToHost.Pods.On(false) {
		t.Errorf("pods: %+v", c.Sync.ToHost.Pods)
	}
	if _, _, err := Load([]byte("sync:\n  toHost:\n    pods:\n      useSecretForSATokens: true\n")); err == nil || !strings.Contains(err.Error(), "useSecretsForSATokens") {
		t.Errorf("a misspelt key: %v", err)
	}
}

func want(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}
