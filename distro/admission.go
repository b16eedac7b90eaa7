package distro

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"vkube.io/vkube/certs"
)

// vkube's Service webhook admits only the API server's own webhook client certificate (see
// certs.ClientPin). kube-apiserver presents a client certificate to a webhook only when its
// admission configuration gives the webhook plugins a kubeconfig whose user entry is named for
// the webhook's host:port: vkube renders both files, naming only its own webhook's address, so
// no tenant webhook ever sees the certificate.

// webhookPlugins are the admission plugins that call webhooks; vkube configures both, so a
// validating webhook of vkube's authenticates the same way.
var webhookPlugins = []string{"MutatingAdmissionWebhook", "ValidatingAdmissionWebhook"}

// webhookAdmission renders the admission configuration (the API server's
// --admission-control-config-file) and its kubeconfig into dataDir/admission, for vkube's
// webhook at address. A user's own admission configuration (userFile, "" for none, given in
// field) is kept: its other plugins are copied, relative paths made absolute; one that
// configures the webhook plugins itself is refused, as the two cannot both apply.
func webhookAdmission(dataDir, address string, pki *certs.PKI, field, userFile string) (string, map[string][]byte, error) {
	dir := filepath.Join(dataDir, "admission")
	configPath, kubeconfigPath := filepath.Join(dir, "admission-config.yaml"), filepath.Join(dir, "webhook-kubeconfig.yaml")
	kc := clientcmdapi.NewConfig()
	kc.AuthInfos[address] = &clientcmdapi.AuthInfo{
		ClientCertificate: pki.Path(certs.APIServerWebhookClientCert),
		ClientKey:         pki.Path(certs.APIServerWebhookClientKey),
	}
	kubeconfig, err := clientcmd.Write(*kc)
	if err != nil {
		return "", nil, fmt.Errorf("webhook kubeconfig: %w", err)
	}
	plugins, err := userPlugins(field, userFile)
	if err != nil {
		return "", nil, err
	}
	for _, name := range webhookPlugins {
		plugins = append(plugins, map[string]any{"name": name, "configuration": map[string]any{
			"apiVersion": "apiserver.config.k8s.io/v1", "kind": "WebhookAdmissionConfiguration", "kubeConfigFile": kubeconfigPath,
		}})
	}
	doc, err := yaml.Marshal(map[string]any{"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration", "plugins": plugins})
	if err != nil {
		return "", nil, fmt.Errorf("admission configuration: %w", err)
	}
	return configPath, map[string][]byte{configPath: doc, kubeconfigPath: kubeconfig}, nil
}

// userPlugins are the plugin entries of a user's admission configuration.
func userPlugins(field, file string) ([]any, error) {
	if file == "" {
		return nil, nil
	}
	file, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("%s: admission-control-config-file: %w", field, err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: admission-control-config-file: %w", field, err)
	}
	var doc struct {
		Plugins []map[string]any `json:"plugins"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: admission-control-config-file %s: %w", field, file, err)
	}
	out := make([]any, 0, len(doc.Plugins))
	for _, p := range doc.Plugins {
		name, _ := p["name"].(string)
		for _, w := range webhookPlugins {
			if name == w {
				return nil, fmt.Errorf("%s: admission-control-config-file %s configures %s: vkube configures that plugin so the API server authenticates to vkube's Service webhook; remove the entry", field, file, name)
			}
		}
		// The API server resolves a relative path against the configuration file's directory;
		// the merged file lives elsewhere.
		if path, ok := p["path"].(string); ok && path != "" && !filepath.IsAbs(path) {
			p["path"] = filepath.Join(filepath.Dir(file), path)
		}
		out = append(out, p)
	}
	return out, nil
}

// takeFlag removes every "name=value" argument from args and returns the last value ("" when
// absent) and the other arguments.
func takeFlag(args []string, name string) (string, []string) {
	value := ""
	rest := make([]string, 0, len(args))
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			value = v
			continue
		}
		rest = append(rest, a)
	}
	return value, rest
}
