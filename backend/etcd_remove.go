package backend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/membership"
	"k8s.io/apimachinery/pkg/util/wait"
)

// removedFromCluster tells whether the cluster no longer lists member id: the local view
// knows when this member applied its own removal, the others' views when it was removed while
// down (its peers then refuse it and etcd stops "permanently removed from the cluster").
func (m *etcdMember) removedFromCluster(ctx context.Context, e *embed.Etcd, id types.ID) bool {
	if rc, ok := e.Server.Cluster().(*membership.RaftCluster); ok && rc.IsIDRemoved(id) {
		return true
	}
	for range 3 {
		if v := m.probe(ctx); v.members != nil {
			return !slices.ContainsFunc(v.members, func(mi memberInfo) bool { return mi.ID == uint64(id) })
		}
		if sleepCtx(ctx, memberProbe.interval) != nil {
			return false
		}
	}
	return false
}

func (b *embeddedEtcd) leaving() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.removing
}

// RemoveSelf removes this member through the other members, then stops it and deletes its
// data: a removed member's data is useless, and members removed together that came back with it
// could elect each other and serve stale data. A leader hands its leadership over first; etcd
// would cope with a leader committing its own removal (it steps down once the entry is
// committed by the remaining members), but the others would sit out an election timeout.
func (b *embeddedEtcd) RemoveSelf(ctx context.Context) error {
	if b.member == nil {
		return errors.New("backend: this embedded etcd is a single member, not one of a cluster: there is nothing to leave")
	}
	m := b.member
	b.mu.Lock()
	e := b.etcd
	if e != nil {
		b.removing = true
	}
	b.mu.Unlock()
	if e == nil {
		return fmt.Errorf("backend: etcd member %s is not running, so it cannot remove itself: retry once it serves", m.self.Name)
	}
	if err := b.removeThroughCluster(ctx, e); err != nil {
		b.mu.Lock()
		b.removing = false
		b.mu.Unlock()
		return err
	}
	if err := b.Stop(ctx); err != nil {
		return err
	}
	return m.wipe()
}

func (b *embeddedEtcd) removeThroughCluster(ctx context.Context, e *embed.Etcd) error {
	m := b.member
	select {
	case <-e.Server.ReadyNotify():
	case <-ctx.Done():
		return fmt.Errorf("backend: etcd member %s is not serving yet, so it cannot remove itself: %w", m.self.Name, ctx.Err())
	}
	id := e.Server.MemberID()
	endpoints := otherClientURLs(e)
	if len(endpoints) == 0 {
		return fmt.Errorf("backend: etcd member %s is the last member of its cluster and cannot be removed", m.self.Name)
	}
	if e.Server.Leader() == id {
		if err := e.Server.TryTransferLeadershipOnShutdown(); err != nil {
			m.log.Warn("handing etcd leadership over before leaving failed; leaving as leader", "err", err)
		}
	}
	cli, err := m.client(endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	backoff := wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.1, Steps: 100, Cap: 5 * time.Second}
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := cli.MemberRemove(rctx, uint64(id))
		cancel()
		if err == nil || errors.Is(err, rpctypes.ErrMemberNotFound) {
			m.log.Info("removed this member from the etcd cluster", "id", id.String())
			return nil
		}
		delay := backoff.Step()
		m.log.Log(ctx, retryLevel(err), "removing this member from the etcd cluster failed; retrying", "err", err, "retryIn", delay.Round(100*time.Millisecond))
		if serr := sleepCtx(ctx, delay); serr != nil {
			return fmt.Errorf("backend: removing etcd member %s: %w (last error: %v)", m.self.Name, serr, err)
		}
	}
}
