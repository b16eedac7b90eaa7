package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/membership"
)

// memberProbe bounds how a member without data looks for a running cluster. Only the founder
// ever stops looking (and founds), so rounds×interval is how long it gives members that restart
// with their data to show up before it concludes that no cluster exists.
var memberProbe = struct {
	rounds            int
	interval, timeout time.Duration
}{rounds: 4, interval: 2500 * time.Millisecond, timeout: 2 * time.Second}

// plan decides how a member without data starts; it returns etcd's cluster state and initial
// cluster.
//
// Only the founder (the first of Peers) founds, with all of Peers, and only after
// memberProbe.rounds rounds in which no other peer answered, on its client port or its peer port
// (which a member serves even without quorum). The others wait until a cluster answers: they
// join it as a learner (join) or, when it lists them as never started, start into it (startInto);
// under Parallel pod management all replicas start together, so the others start as founders
// of the founder's cluster seconds after it.
//
// Letting any member found would split the brain on a scale-up 1 → 3 that also restarts NAME-0
// (the pod template changes with the peer list): NAME-1 and NAME-2 find nobody while NAME-0
// restarts, found {0,1,2} between themselves — a quorum of it — and serve an empty datastore
// while NAME-0 serves the real one. With one founder that cannot happen. What remains is the
// founder's own race: it must have lost its data while every other member was unreachable on
// both ports for the whole probe window, that is while the cluster was down and could not
// commit anything; and should a member answer while it founds, etcd refuses to found ("member
// has already been bootstrapped") and plan runs again. The price is liveness: a new cluster
// forms only once NAME-0 runs.
func (m *etcdMember) plan(ctx context.Context) (state, initialCluster string, err error) {
	silent := 0
	var lossReported time.Time
	for round := 1; ; round++ {
		if len(m.others) > 0 {
			v := m.probe(ctx)
			switch {
			case v.quorum:
				return m.join(ctx, v)
			case v.members != nil:
				silent = 0
				if mine := findPeerURL(v.members, m.self.PeerURL); mine != nil && !started(*mine) {
					state, ic := m.startInto(v.members)
					return state, ic, nil
				}
				if round%4 == 1 {
					m.log.Warn("etcd cluster answers on its peer port but has no quorum and does not list this member as new: waiting for its quorum before joining", "answeredBy", v.by)
				}
			case m.founder:
				silent++
			default:
				if round%4 == 1 {
					m.log.Info("no etcd cluster answers yet: waiting for the founder or a running cluster", "founder", m.ec.Peers[0].Name)
				}
			}
		}
		if m.founder && (len(m.others) == 0 || silent >= memberProbe.rounds) {
			err := m.mayFound(ctx)
			if err == nil {
				break
			}
			// Members may still come back with the data: probing goes on.
			m.reportLoss(ctx, err, &lossReported)
		}
		if err := sleepCtx(ctx, memberProbe.interval); err != nil {
			return "", "", err
		}
	}
	m.log.Info("no etcd cluster answers: founding one", "initialCluster", m.bootstrapCluster())
	m.founding = true
	return embed.ClusterStateFlagNew, m.bootstrapCluster(), nil
}

// clusterToken makes member IDs a function of the peer URLs alone, so that every member computes
// the same IDs for the founding membership and a late founding member can recognise it.
const clusterToken = "vkube"

// bootstrapCluster is the founding membership: all of Peers.
func (m *etcdMember) bootstrapCluster() string {
	var ic []string
	for _, p := range m.ec.Peers {
		ic = append(ic, p.Name+"="+p.PeerURL)
	}
	return strings.Join(ic, ",")
}

// isBootstrap tells whether ms is exactly the founding membership of Peers (same member IDs),
// that is a cluster founded from Peers whose membership never changed.
func (m *etcdMember) isBootstrap(ms []memberInfo) bool {
	if len(ms) != len(m.ec.Peers) {
		return false
	}
	for _, p := range m.ec.Peers {
		urls, err := types.NewURLs([]string{p.PeerURL})
		if err != nil {
			return false
		}
		id := uint64(membership.NewMember(p.Name, urls, clusterToken, nil).ID)
		if !slices.ContainsFunc(ms, func(mi memberInfo) bool { return mi.ID == id }) {
			return false
		}
	}
	return true
}

// startInto starts this member into a cluster that lists it but in which it never ran. A
// member of the founding membership starts as a founder too (etcd's static bootstrap: a member
// joining a cluster still forming in existing mode is refused, the cluster version being
// undecided); a member added by MemberAdd starts in existing mode.
func (m *etcdMember) startInto(ms []memberInfo) (state, initialCluster string) {
	if m.isBootstrap(ms) {
		m.log.Info("etcd cluster founded from Peers lists this member as not yet started: starting as one of its founders")
		return embed.ClusterStateFlagNew, m.bootstrapCluster()
	}
	m.log.Info("etcd cluster lists this member as added but not yet started: joining it")
	return embed.ClusterStateFlagExisting, m.initialCluster(ms)
}

// memberInfo is a member as MemberList and a peer's /members report it.
type memberInfo struct {
	ID         uint64   `json:"id"`
	Name       string   `json:"name"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs"`
	IsLearner  bool     `json:"isLearner"`
}

// started tells a member that has run (it published its client URLs) from one that was added
// or bootstrapped but never ran.
func started(mi memberInfo) bool { return len(mi.ClientURLs) > 0 }

func findPeerURL(ms []memberInfo, peerURL string) *memberInfo {
	for i := range ms {
		if slices.Contains(ms[i].PeerURLs, peerURL) {
			return &ms[i]
		}
	}
	return nil
}

func fromPB(pbs []*etcdserverpb.Member) []memberInfo {
	ms := make([]memberInfo, 0, len(pbs))
	for _, p := range pbs {
		ms = append(ms, memberInfo{ID: p.ID, Name: p.Name, PeerURLs: p.PeerURLs, ClientURLs: p.ClientURLs, IsLearner: p.IsLearner})
	}
	return ms
}

// clusterView is what one probe round learnt.
type clusterView struct {
	members []memberInfo
	// quorum: a member answered a linearizable MemberList, so the cluster has a leader.
	quorum bool
	by     string
}

// probe asks every other peer, on its client port (MemberList) and on its peer port (/members,
// which a member serves even without quorum), and prefers an answer backed by a quorum.
func (m *etcdMember) probe(ctx context.Context) clusterView {
	var (
		mu   sync.Mutex
		best clusterView
		wg   sync.WaitGroup
	)
	offer := func(v clusterView) {
		mu.Lock()
		defer mu.Unlock()
		if best.members == nil || (v.quorum && !best.quorum) {
			best = v
		}
	}
	// A member that is down refuses the connection at once, where the etcd client would retry
	// until its timeout: each port is dialled first.
	for _, p := range m.others {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if !m.reachable(ctx, p.ClientURL) {
				return
			}
			if ms, err := m.clientMembers(ctx, p.ClientURL); err == nil {
				offer(clusterView{members: ms, quorum: true, by: p.ClientURL})
			}
		}()
		go func() {
			defer wg.Done()
			if !m.reachable(ctx, p.PeerURL) {
				return
			}
			if ms, err := m.peerMembers(ctx, p.PeerURL); err == nil {
				offer(clusterView{members: ms, by: p.PeerURL})
			}
		}()
	}
	wg.Wait()
	return best
}

func (m *etcdMember) reachable(ctx context.Context, rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	d := net.Dialer{Timeout: memberProbe.timeout}
	c, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (m *etcdMember) clientMembers(ctx context.Context, endpoint string) ([]memberInfo, error) {
	cli, err := m.client([]string{endpoint})
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, memberProbe.timeout)
	defer cancel()
	resp, err := cli.MemberList(ctx)
	if err != nil {
		return nil, err
	}
	return fromPB(resp.Members), nil
}

func (m *etcdMember) peerMembers(ctx context.Context, peerURL string) ([]memberInfo, error) {
	tc, err := transport.TLSInfo{CertFile: m.ec.PeerCert, KeyFile: m.ec.PeerKey, TrustedCAFile: m.ec.CA}.ClientConfig()
	if err != nil {
		return nil, err
	}
	hc := http.Client{Timeout: memberProbe.timeout, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, peerURL+"/members", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s/members: %s", peerURL, resp.Status)
	}
	var ms []memberInfo
	if err := json.NewDecoder(resp.Body).Decode(&ms); err != nil {
		return nil, fmt.Errorf("%s/members: %w", peerURL, err)
	}
	if ms == nil {
		ms = []memberInfo{}
	}
	return ms, nil
}
