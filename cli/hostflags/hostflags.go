// Package hostflags holds the flags every client command of vkube shares: which host cluster
// (kubeconfig, context) and which namespace. The namespace defaults to vkube-NAME, not to the
// kubeconfig's namespace, so that one virtual cluster lives in a namespace of its own.
package hostflags

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Flags reach the host cluster. Getter satisfies the Helm SDK's RESTClientGetter.
type Flags struct {
	Getter    *genericclioptions.ConfigFlags
	namespace string
	// contextChecked: the kubeconfig was read once for a vkube context's host (hostContext).
	contextChecked bool
}

// Add registers --kubeconfig, --context and -n/--namespace on cmd.
func Add(cmd *cobra.Command) *Flags {
	g := genericclioptions.NewConfigFlags(true)
	f := &Flags{Getter: g}
	cmd.Flags().StringVar(g.KubeConfig, "kubeconfig", "", "kubeconfig of the host cluster (default $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVar(g.Context, "context", "", "kubeconfig context of the host cluster (default the current one)")
	cmd.Flags().StringVarP(&f.namespace, "namespace", "n", "", "host namespace of the virtual cluster (default vkube-NAME)")
	return f
}

// Namespace is the host namespace of virtual cluster name.
func (f *Flags) Namespace(name string) string {
	if f.namespace != "" {
		return f.namespace
	}
	return DefaultNamespace(name)
}

// NamespaceSet tells whether -n was given.
func (f *Flags) NamespaceSet() bool { return f.namespace != "" }

// DefaultNamespace is where `vkube create NAME` puts a virtual cluster without -n.
func DefaultNamespace(name string) string { return "vkube-" + name }

// Pin pins the namespace the Helm SDK and clients use to ns.
func (f *Flags) Pin(ns string) {
	*f.Getter.Namespace = ns
}

// ParentContext is the host context encoded in a context name made by connect.ContextName
// (vkube_NAME_NS_HOSTCONTEXT): names and namespaces are DNS labels, so the first three
// underscores delimit the parts.
func ParentContext(contextName string) (string, bool) {
	parts := strings.SplitN(contextName, "_", 4)
	if len(parts) != 4 || parts[0] != "vkube" || parts[3] == "" {
		return "", false
	}
	return parts[3], true
}

// hostContext makes a kubeconfig switched to a virtual cluster (by vkube connect) reach its
// host still, so every command works from inside a connected context as from the host one.
func (f *Flags) hostContext() {
	if f.contextChecked || *f.Getter.Context != "" {
		return
	}
	f.contextChecked = true
	// Read the file directly: the getter caches its loader on first use, with the context then set.
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = *f.Getter.KubeConfig
	raw, err := rules.Load()
	if err != nil {
		return
	}
	if parent, ok := ParentContext(raw.CurrentContext); ok {
		if _, known := raw.Contexts[parent]; known {
			*f.Getter.Context = parent
		}
	}
}

// Config is the host cluster's REST config.
func (f *Flags) Config() (*rest.Config, error) {
	f.hostContext()
	cfg, err := f.Getter.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("host cluster kubeconfig: %w", err)
	}
	// With no kubeconfig at all (and not in a pod), client-go falls back to its default server,
	// http://localhost:8080: say what is missing rather than dial it.
	if cfg.Host == clientcmd.ClusterDefaults.Server {
		if raw, rerr := f.Getter.ToRawKubeConfigLoader().RawConfig(); rerr == nil && len(raw.Clusters) == 0 {
			return nil, fmt.Errorf("no host cluster kubeconfig (none in $KUBECONFIG or ~/.kube/config): pass --kubeconfig FILE or set KUBECONFIG")
		}
	}
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// Client is a clientset for the host cluster.
func (f *Flags) Client() (*rest.Config, kubernetes.Interface, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, nil, err
	}
	c, err := kubernetes.NewForConfig(cfg)
	return cfg, c, err
}

// CurrentContext is the host kubeconfig's context name in use.
func (f *Flags) CurrentContext() (string, error) {
	f.hostContext()
	if *f.Getter.Context != "" {
		return *f.Getter.Context, nil
	}
	raw, err := f.Getter.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return "", fmt.Errorf("host cluster kubeconfig: %w", err)
	}
	return raw.CurrentContext, nil
}

// Resolve finds the namespace of an existing virtual cluster: -n when given, else the one
// namespace holding a virtual cluster of that name, else vkube-NAME.
func (f *Flags) Resolve(ctx context.Context, name string) (string, error) {
	if f.namespace != "" {
		return f.namespace, nil
	}
	_, c, err := f.Client()
	if err != nil {
		return "", err
	}
	sets, err := c.AppsV1().StatefulSets("").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=vkube,app.kubernetes.io/instance=" + name})
	if err != nil {
		// No cluster-wide read: the default namespace is the only guess.
		return DefaultNamespace(name), nil
	}
	var found []string
	for _, s := range sets.Items {
		if s.Name == name {
			found = append(found, s.Namespace)
		}
	}
	switch len(found) {
	case 0:
		return DefaultNamespace(name), nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("virtual cluster %s exists in namespaces %s: pick one with -n", name, strings.Join(found, ", "))
}
