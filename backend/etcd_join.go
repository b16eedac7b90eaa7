package backend

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/apimachinery/pkg/util/wait"
)

// join makes room for this member in a cluster that has quorum and returns how to start it: a
// member left behind by this pod's former life (same name or peer URL, data since lost) is
// removed, then this member is added. It retries until ctx ends, since a cluster refuses
// changes while a member is unhealthy or another learner catches up.
//
// It joins as a learner, promoted once it has caught up (serveMember): a voter added before it
// runs would count against the quorum at once — on 1 → 2 the cluster stops committing, and the
// new member's own start then waits out etcd's compatibility check against a leaderless peer.
func (m *etcdMember) join(ctx context.Context, v clusterView) (state, initialCluster string, err error) {
	var endpoints []string
	for _, mi := range v.members {
		endpoints = append(endpoints, mi.ClientURLs...)
	}
	cli, err := m.client(endpoints)
	if err != nil {
		return "", "", err
	}
	defer cli.Close()
	backoff := wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.1, Steps: 100, Cap: 5 * time.Second}
	retry := func(step string, err error) error {
		delay := backoff.Step()
		m.log.Log(ctx, retryLevel(err), "joining the etcd cluster: "+step+" failed; retrying", "err", err, "retryIn", delay.Round(100*time.Millisecond))
		return sleepCtx(ctx, delay)
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		list, err := cli.MemberList(rctx)
		cancel()
		if err != nil {
			if err := retry("listing members", err); err != nil {
				return "", "", err
			}
			continue
		}
		ms := fromPB(list.Members)
		var mine *memberInfo
		var stale []memberInfo
		for _, mi := range ms {
			switch {
			case slices.Contains(mi.PeerURLs, m.advPeer.String()) && !started(mi):
				mine = &mi
			case slices.Contains(mi.PeerURLs, m.advPeer.String()) || mi.Name == m.self.Name:
				stale = append(stale, mi)
			}
		}
		if mine != nil && len(stale) == 0 {
			// Added by an attempt that then failed to start, or a founding member starting late.
			state, ic := m.startInto(ms)
			return state, ic, nil
		}
		removed := true
		for _, s := range stale {
			m.log.Info("removing the etcd member this pod ran before its data was lost", "id", types.ID(s.ID).String(), "peerURLs", s.PeerURLs)
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := cli.MemberRemove(rctx, s.ID)
			cancel()
			if err != nil && !errors.Is(err, rpctypes.ErrMemberNotFound) {
				if err := retry("removing the former member", err); err != nil {
					return "", "", err
				}
				removed = false
				break
			}
		}
		if !removed || mine != nil {
			continue
		}
		rctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		added, err := cli.MemberAddAsLearner(rctx, []string{m.advPeer.String()})
		cancel()
		if err != nil {
			// A timed-out add may still have gone through: the next listing finds it. One
			// learner at a time: a second joiner gets "too many learner members" until the first
			// is promoted.
			if err := retry("adding this member", err); err != nil {
				return "", "", err
			}
			continue
		}
		m.log.Info("added this member to the etcd cluster as a learner: joining it", "id", types.ID(added.Member.ID).String())
		return embed.ClusterStateFlagExisting, m.initialCluster(fromPB(added.Members)), nil
	}
}

// initialCluster writes members as name=peerURL,…; members that never started have no name
// yet, so they get the name Peers gives their peer URL (this one gets its own).
func (m *etcdMember) initialCluster(ms []memberInfo) string {
	var out []string
	for _, mi := range ms {
		name := mi.Name
		for _, p := range m.ec.Peers {
			if slices.Contains(mi.PeerURLs, p.PeerURL) && (name == "" || p.Name == m.self.Name) {
				name = p.Name
			}
		}
		if name == "" {
			name = "member-" + types.ID(mi.ID).String()
		}
		for _, u := range mi.PeerURLs {
			out = append(out, name+"="+u)
		}
	}
	return strings.Join(out, ",")
}

// promote promotes this learner once it has caught up with the leader; until ctx ends.
func (m *etcdMember) promote(ctx context.Context, e *embed.Etcd) error {
	id := e.Server.MemberID()
	cli, err := m.client(otherClientURLs(e))
	if err != nil {
		return err
	}
	defer cli.Close()
	backoff := wait.Backoff{Duration: 200 * time.Millisecond, Factor: 1.5, Jitter: 0.1, Steps: 100, Cap: 5 * time.Second}
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := cli.MemberPromote(rctx, uint64(id))
		cancel()
		if err == nil || errors.Is(err, rpctypes.ErrMemberNotLearner) {
			m.log.Info("promoted this etcd learner to a voting member", "id", id.String())
			return waitPromotionApplied(ctx, e)
		}
		delay := backoff.Step()
		if !errors.Is(err, rpctypes.ErrMemberLearnerNotReady) || attempt%10 == 0 {
			m.log.Log(ctx, retryLevel(err), "promoting this etcd learner failed; retrying", "err", err, "retryIn", delay.Round(100*time.Millisecond))
		}
		if err := sleepCtx(ctx, delay); err != nil {
			return err
		}
	}
}

// waitPromotionApplied waits until this member has applied its own promotion: the leader
// commits it first, and until the member applies it, it still refuses clients as a learner
// ("rpc not supported for learner").
func waitPromotionApplied(ctx context.Context, e *embed.Etcd) error {
	return wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(context.Context) (bool, error) {
		return !e.Server.IsLearner(), nil
	})
}

// otherClientURLs are the client URLs of the other members as e knows them.
func otherClientURLs(e *embed.Etcd) []string {
	var urls []string
	for _, o := range e.Server.Cluster().Members() {
		if o.ID != e.Server.MemberID() {
			urls = append(urls, o.ClientURLs...)
		}
	}
	return urls
}
