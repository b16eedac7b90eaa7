package connect

import (
	"k8s.io/client-go/tools/clientcmd"
)

// CurrentContext is the current context of the user's kubeconfig ("" when there is none).
func CurrentContext() string {
	cfg, err := clientcmd.NewDefaultPathOptions().GetStartingConfig()
	if err != nil {
		return ""
	}
	return cfg.CurrentContext
}

// Forget is what `vkube delete` does to the user's side: it stops a background proxy of the
// virtual cluster and removes its context from the kubeconfig, switching back to the host
// context when it was the current one.
func Forget(name, namespace, hostContext string) error {
	if err := StopBackground(namespace, name); err != nil {
		return err
	}
	access := clientcmd.NewDefaultPathOptions()
	start, err := access.GetStartingConfig()
	if err != nil {
		return err
	}
	ctxName := ContextName(name, namespace, hostContext)
	if _, ok := start.Contexts[ctxName]; !ok {
		return nil
	}
	cfg := start.DeepCopy()
	if cfg.CurrentContext == ctxName {
		cfg.CurrentContext = hostContext
	}
	delete(cfg.Clusters, ctxName)
	delete(cfg.AuthInfos, ctxName)
	delete(cfg.Contexts, ctxName)
	return clientcmd.ModifyConfig(access, *cfg, false)
}
