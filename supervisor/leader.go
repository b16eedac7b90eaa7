package supervisor

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"vkube.io/vkube/config"
	"vkube.io/vkube/names"
	"vkube.io/vkube/syncer"
)

// SyncerLeaseName is the host Lease whose holder runs the syncer of an HA virtual cluster.
func SyncerLeaseName(vcluster string) string { return "vkube-" + vcluster + "-syncer" }

// syncWhileLeading runs the syncer only while this replica holds the host Lease: replicas share
// the host objects, and two syncers would fight over them. Everything else (API, kubelet
// endpoint, DNS, webhook) serves on every replica. A replica that loses the Lease stops syncing
// and campaigns again.
func (s *Supervisor) syncWhileLeading(ctx context.Context, sc syncer.Config) error {
	h, o := s.host, s.opts
	ha := o.Config.ControlPlane.StatefulSet.HighAvailability
	seconds := func(v, def int) time.Duration {
		if v == 0 {
			v = def
		}
		return time.Duration(v) * time.Second
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: SyncerLeaseName(o.Config.Name), Namespace: h.namespace},
		Client:     h.client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.MemberName},
		Labels:     map[string]string{names.LabelCluster: o.Config.Name},
	}
	lec := leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   seconds(ha.LeaseDuration, config.DefaultLeaseDuration),
		RenewDeadline:   seconds(ha.RenewDeadline, config.DefaultRenewDeadline),
		RetryPeriod:     seconds(ha.RetryPeriod, config.DefaultRetryPeriod),
		ReleaseOnCancel: true,
		Name:            "syncer",
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) {
				o.Logger.Info("holding the syncer Lease: syncing", "lease", lock.LeaseMeta.Name, "identity", o.MemberName)
				sy, err := syncer.Start(lctx, sc)
				if err != nil {
					s.fail(err)
					return
				}
				s.setSyncer(sy)
				select {
				case err := <-sy.Err():
					// Reported as a failed datastore or child is: the caller learns of it from
					// Err and stops the supervisor.
					s.fail(err)
					<-lctx.Done()
				case <-lctx.Done():
				}
				stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = sy.Stop(stopCtx)
				s.setSyncer(nil)
			},
			OnStoppedLeading: func() {
				o.Logger.Info("not holding the syncer Lease", "lease", lock.LeaseMeta.Name, "identity", o.MemberName)
			},
			OnNewLeader: func(id string) {
				if id != o.MemberName {
					o.Logger.Info("the syncer runs on another replica", "leader", id)
				}
			},
		},
	}
	le, err := leaderelection.NewLeaderElector(lec)
	if err != nil {
		return err
	}
	go func() {
		for ctx.Err() == nil {
			le.Run(ctx)
		}
	}()
	return nil
}
