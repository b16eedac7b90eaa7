package supervisor

import (
	"context"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"vkube.io/vkube/isolation"
)

// enforcePodSecurity keeps every virtual namespace labelled with the Pod Security Standard, so
// the virtual apiserver refuses what violates it; the namespaces that exist are labelled before
// the virtual cluster reports ready.
func (s *Supervisor) enforcePodSecurity(ctx context.Context) error {
	level := s.opts.Config.Policies.PodSecurityStandard
	if level == "" {
		return nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		return err
	}
	vcs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := isolation.EnforcePSS(ctx, vcs, level); err != nil {
		return err
	}
	s.opts.Logger.Info("pod security standard enforced on virtual namespaces", "level", level)
	return nil
}
