package distro

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/config"
)

const goldenWebhook = "127.0.0.1:41443"

// TestSyncingGolden pins what the API server gets when vkube serves its Service webhook and
// kubelet endpoint: the admission configuration that presents the webhook client certificate
// to that one address, and vkube's kubelet-client certificate.
func TestSyncingGolden(t *testing.T) {
	pki := goldenPKI(t)
	eps := goldenEndpoints(pki)
	k8s := &config.Config{Name: "vc"}
	if err := k8s.SetDistro("k8s"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		driver Driver
		cfg    *config.Config
		binary string
	}{
		{"k8s-syncing", drivers["k8s"], k8s, ""},
		{"k3s-syncing", k3sDriver{}, k3sConfig(nil), "/opt/vkube/bin/k3s"},
		{"k0s-syncing", k0sDriver{}, k0sConfigWith(nil), "/opt/vkube/bin/k0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := goldenOptions(pki, tc.cfg, tc.binary, eps["kine"])
			o.BinDir = "/usr/local/lib/vkube/kube/v1.34.2"
			o.WebhookAddress = goldenWebhook
			comps, err := tc.driver.Components(o)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, renderComponents(pki, comps))
		})
	}
}

// TestAdmissionMergesUserConfig: a user's own admission configuration keeps its plugins (with
// relative paths made absolute); one that configures the webhook plugins itself is refused with
// the field named.
func TestAdmissionMergesUserConfig(t *testing.T) {
	pki := goldenPKI(t)
	dir := t.TempDir()
	user := filepath.Join(dir, "admission.yaml")
	writeFile(t, user, `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: EventRateLimit
  path: eventconfig.yaml
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults: {enforce: baseline}
`)
	cfg := &config.Config{Name: "vc"}
	if err := cfg.SetDistro("k8s"); err != nil {
		t.Fatal(err)
	}
	cfg.ControlPlane.Distro.K8s.APIServer.ExtraArgs = []string{"--admission-control-config-file=" + user, "--v=2"}
	o := goldenOptions(pki, cfg, "", goldenEndpoints(pki)["kine"])
	o.DataDir = t.TempDir()
	o.WebhookAddress = goldenWebhook
	comps, err := drivers["k8s"].Components(o)
	if err != nil {
		t.Fatal(err)
	}
	api := comps[0]
	ours := filepath.Join(o.DataDir, "admission", "admission-config.yaml")
	n := 0
	for _, a := range api.Args {
		if strings.HasPrefix(a, "--admission-control-config-file=") {
			n++
			if a != "--admission-control-config-file="+ours {
				t.Errorf("API server gets %s, want vkube's merged file", a)
			}
		}
	}
	if n != 1 {
		t.Fatalf("--admission-control-config-file given %d times: %q", n, api.Args)
	}
	var doc struct {
		Plugins []struct {
			Name          string         `json:"name"`
			Path          string         `json:"path"`
			Configuration map[string]any `json:"configuration"`
		} `json:"plugins"`
	}
	if err := yaml.Unmarshal(api.Files[ours], &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range doc.Plugins {
		names = append(names, p.Name)
		switch p.Name {
		case "EventRateLimit":
			if p.Path != filepath.Join(dir, "eventconfig.yaml") {
				t.Errorf("EventRateLimit path %q, want it made absolute", p.Path)
			}
		case "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook":
			kcPath, _ := p.Configuration["kubeConfigFile"].(string)
			kc, err := clientcmd.Load(api.Files[kcPath])
			if err != nil {
				t.Fatalf("%s: kubeconfig %s: %v", p.Name, kcPath, err)
			}
			if len(kc.AuthInfos) != 1 || kc.AuthInfos[goldenWebhook] == nil ||
				kc.AuthInfos[goldenWebhook].ClientCertificate != pki.Path(certs.APIServerWebhookClientCert) {
				t.Errorf("%s: users %v, want only %s with the webhook client certificate", p.Name, kc.AuthInfos, goldenWebhook)
			}
		}
	}
	if strings.Join(names, ",") != "EventRateLimit,PodSecurity,MutatingAdmissionWebhook,ValidatingAdmissionWebhook" {
		t.Errorf("plugins %v", names)
	}

	writeFile(t, user, "plugins:\n- name: MutatingAdmissionWebhook\n  path: webhook.yaml\n")
	if _, err := drivers["k8s"].Components(o); err == nil || !strings.Contains(err.Error(), "controlPlane.distro.k8s.apiServer.extraArgs") ||
		!strings.Contains(err.Error(), "MutatingAdmissionWebhook") || strings.Contains(err.Error(), "\n") {
		t.Errorf("a user configuration of the webhook plugin: got %v, want one line naming the field and the plugin", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
