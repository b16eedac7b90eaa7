package supervisor

import (
	"context"
	"path/filepath"
	"time"

	"vkube.io/vkube/certs"
)

// renewCerts re-runs certs.Ensure periodically, so leaf certificates are renewed well before
// they expire without a restart: the apiserver reloads its serving and CA files by itself; the
// components whose client certificate sits in a kubeconfig are restarted one by one, which the
// API never notices.
func (s *Supervisor) renewCerts(ctx context.Context, local, server, contextName string) {
	log := s.opts.Logger
	dir := filepath.Join(s.opts.DataDir, "pki")
	t := time.NewTicker(s.opts.CertCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pki, changes, err := certs.Ensure(ctx, s.pkiStore(), dir, certOptions(s.opts, s.host))
		if err != nil {
			log.Error("certificate renewal failed; will retry", "error", err)
			continue
		}
		if len(changes) == 0 {
			continue
		}
		for _, c := range changes {
			log.Info("certificates: " + c)
		}
		if err := s.writeComponentKubeconfigs(pki, local); err != nil {
			log.Error("certificate renewal: kubeconfigs", "error", err)
			continue
		}
		if err := pki.WriteKubeconfig(s.Kubeconfig, server, certs.Admin, contextName); err != nil {
			log.Error("certificate renewal: admin kubeconfig", "error", err)
		}
		cp := s.ControlPlane()
		if cp == nil {
			continue
		}
		for _, child := range cp.Children() {
			if child.Name() == "kube-controller-manager" || child.Name() == "kube-scheduler" {
				log.Info("restarting to pick up renewed client certificate", "component", child.Name())
				child.Restart()
			}
		}
	}
}

func (s *Supervisor) pkiStore() certs.Store {
	if s.host != nil {
		return s.host.pkiStore(s.opts.Config.Name)
	}
	return certs.NewDirStore(filepath.Join(s.opts.DataDir, "pki"))
}
