package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/client/pkg/v3/types"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/membership"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/util/wait"
)

// EtcdPeer is one member of an embedded etcd cluster spanning the replicas.
type EtcdPeer struct {
	// Name is the member's name: the pod name in a StatefulSet (NAME-0, NAME-1, …).
	Name string
	// PeerURL and ClientURL are the https://host:port URLs the other members and the apiservers
	// reach this member at.
	PeerURL, ClientURL string
}

// MemberRemover is a Backend that is one member of a replicated datastore and can leave it; the
// supervisor calls it on scale-down, since members that just vanish count against the quorum.
type MemberRemover interface {
	// RemoveSelf removes this member from its cluster, stops it and deletes its data.
	RemoveSelf(ctx context.Context) error
}

var _ MemberRemover = (*embeddedEtcd)(nil)

// memberProbe bounds how a member without data looks for a running cluster. Only the founder
// ever stops looking (and founds), so rounds×interval is how long it gives members that restart
// with their data to show up before it concludes that no cluster exists.
var memberProbe = struct {
	rounds            int
	interval, timeout time.Duration
}{rounds: 4, interval: 2500 * time.Millisecond, timeout: 2 * time.Second}

// etcdMember is one member of a multi-member embedded etcd: how it reaches the others and
// how it decides between restarting, joining and founding.
type etcdMember struct {
	ec      EmbeddedEtcdConfig
	self    EtcdPeer
	others  []EtcdPeer
	founder bool
	// founding is set once this member decided to found a cluster: it records the cluster on
	// the host before it reports ready.
	founding bool
	// dir is etcd's data dir; it holds member/ once the member has started.
	dir                      string
	listenClient, listenPeer url.URL
	advClient, advPeer       url.URL
	log                      *slog.Logger
}

func newEtcdMember(cfg Config) (*etcdMember, error) {
	ec := cfg.Etcd
	const field = "backend: EmbeddedEtcdConfig"
	if ec.InitialCluster != "" || ec.Existing {
		return nil, fmt.Errorf("%s.Peers cannot be combined with InitialCluster or Existing: the membership is derived from Peers; leave those empty", field)
	}
	// Peers is copied with its URLs normalised (no trailing slash), as etcd reports them.
	ec.Peers = slices.Clone(ec.Peers)
	m := &etcdMember{ec: ec, dir: filepath.Join(cfg.DataDir, "etcd", "data")}
	names, peerURLs := map[string]bool{}, map[string]bool{}
	for i := range ec.Peers {
		p := &ec.Peers[i]
		for _, u := range []struct {
			name  string
			value *string
		}{{"PeerURL", &p.PeerURL}, {"ClientURL", &p.ClientURL}} {
			parsed, err := parseMemberURL(*u.value)
			if err != nil {
				return nil, fmt.Errorf("%s.Peers[%d].%s: %w", field, i, u.name, err)
			}
			*u.value = parsed.String()
		}
		if p.Name == "" || names[p.Name] {
			return nil, fmt.Errorf("%s.Peers[%d].Name %q is empty or repeated: every member needs its own name", field, i, p.Name)
		}
		if peerURLs[p.PeerURL] {
			return nil, fmt.Errorf("%s.Peers[%d].PeerURL %q is repeated: every member needs its own peer URL", field, i, p.PeerURL)
		}
		names[p.Name], peerURLs[p.PeerURL] = true, true
	}
	m.ec = ec
	for _, p := range ec.Peers {
		if p.Name == ec.Name {
			m.self = p
		} else {
			m.others = append(m.others, p)
		}
	}
	if m.self.Name == "" {
		return nil, fmt.Errorf("%s.Name %q is not one of Peers: set Name to this member's entry (the pod name)", field, ec.Name)
	}
	// The first peer founds the cluster; the others only ever join one (see plan).
	m.founder = ec.Peers[0].Name == ec.Name
	m.advPeer, _ = parseMemberURL(m.self.PeerURL)
	m.advClient, _ = parseMemberURL(m.self.ClientURL)
	for _, c := range []struct {
		name string
		set  int
		adv  url.URL
	}{{"ClientPort", ec.ClientPort, m.advClient}, {"PeerPort", ec.PeerPort, m.advPeer}} {
		if c.set != 0 && c.set != portOf(c.adv) {
			return nil, fmt.Errorf("%s.%s %d disagrees with this member's URL %s in Peers: leave it 0", field, c.name, c.set, c.adv.String())
		}
	}
	m.listenClient = url.URL{Scheme: "https", Host: hostPort(listenHost(ec.ListenHost, m.advClient), portOf(m.advClient))}
	m.listenPeer = url.URL{Scheme: "https", Host: hostPort(listenHost(ec.ListenHost, m.advPeer), portOf(m.advPeer))}
	m.log = cfg.Logger.With("member", m.self.Name)
	return m, nil
}

func parseMemberURL(s string) (url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
		return url.URL{}, fmt.Errorf("%q is not an https://host:port URL", s)
	}
	return url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

func portOf(u url.URL) int {
	p, _ := strconv.Atoi(u.Port())
	return p
}

// listenHost binds to the advertised address when it is an IP and to every address when it is
// a name (a pod's DNS name cannot be bound to).
func listenHost(set string, adv url.URL) string {
	switch {
	case set != "":
		return set
	case net.ParseIP(adv.Hostname()) != nil:
		return adv.Hostname()
	default:
		return "0.0.0.0"
	}
}

// endpoint puts this member first so that the apiserver beside it reads locally, and the others
// after it so that the apiserver fails over while this member is down.
func (m *etcdMember) endpoint() Endpoint {
	servers := []string{m.advClient.String()}
	for _, p := range m.others {
		servers = append(servers, p.ClientURL)
	}
	return Endpoint{Servers: servers, TLS: TLSFiles{CAFile: m.ec.CA, CertFile: m.ec.Client.CertFile, KeyFile: m.ec.Client.KeyFile}}
}

func (m *etcdMember) hasData() bool {
	_, err := os.Stat(filepath.Join(m.dir, "member"))
	return err == nil
}

func (m *etcdMember) wipe() error {
	if err := os.RemoveAll(m.dir); err != nil {
		return fmt.Errorf("backend: deleting the data of etcd member %s: %w", m.self.Name, err)
	}
	return nil
}

func (m *etcdMember) embedConfig(state, initialCluster string) *embed.Config {
	e := newEmbedConfig(m.ec)
	e.Name = m.self.Name
	e.Dir = m.dir
	e.ListenClientUrls = []url.URL{m.listenClient}
	e.AdvertiseClientUrls = []url.URL{m.advClient}
	e.ListenPeerUrls = []url.URL{m.listenPeer}
	e.AdvertisePeerUrls = []url.URL{m.advPeer}
	e.ClusterState = state
	e.InitialCluster = initialCluster
	e.InitialClusterToken = clusterToken
	// The replicas share server and peer certs carrying every member's names; etcd would otherwise
	// match a connecting member's cert against its remote IP, which a pod IP never is in.
	e.ClientTLSInfo.SkipClientSANVerify = true
	e.PeerTLSInfo.SkipClientSANVerify = true
	return e
}

// start starts the member: with its data when it has any, else by joining the cluster the other
// members run, else — the founder only — by founding one.
func (m *etcdMember) start(ctx context.Context) (*embed.Etcd, error) {
	if m.hasData() {
		m.log.Info("etcd member restarting with its data")
		e, err := embed.StartEtcd(m.embedConfig(embed.ClusterStateFlagNew, m.self.Name+"="+m.advPeer.String()))
		if err != nil {
			return nil, fmt.Errorf("backend: restarting etcd member %s from %s: %w", m.self.Name, m.dir, err)
		}
		return e, nil
	}
	backoff := wait.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 5, Cap: 15 * time.Second}
	for attempt := 1; ; attempt++ {
		state, initial, err := m.plan(ctx)
		if err != nil {
			return nil, err
		}
		e, err := embed.StartEtcd(m.embedConfig(state, initial))
		if err == nil {
			return e, nil
		}
		// The dir held no data before this attempt, so deleting what etcd wrote loses nothing
		// and lets the next attempt decide afresh.
		if werr := m.wipe(); werr != nil {
			return nil, werr
		}
		if attempt == 5 {
			return nil, fmt.Errorf("backend: starting etcd member %s (%s): %w", m.self.Name, state, err)
		}
		delay := backoff.Step()
		m.log.Warn("etcd member failed to start; deciding again", "clusterState", state, "err", err, "attempt", attempt, "retryIn", delay.Round(100*time.Millisecond))
		if err := sleepCtx(ctx, delay); err != nil {
			return nil, err
		}
	}
}

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

// client is an etcd client of the given members, presenting the apiserver's client cert.
func (m *etcdMember) client(endpoints []string) (*clientv3.Client, error) {
	tc, err := transport.TLSInfo{CertFile: m.ec.Client.CertFile, KeyFile: m.ec.Client.KeyFile, TrustedCAFile: m.ec.CA}.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("backend: etcd client TLS: %w", err)
	}
	return clientv3.New(clientv3.Config{Endpoints: endpoints, TLS: tc, DialTimeout: memberProbe.timeout, Logger: zap.NewNop()})
}

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

// runMember starts the member and keeps it serving; a member the cluster removed (while it was
// down, or by another replica) wipes its data and joins again instead of failing on every start.
func (b *embeddedEtcd) runMember(ctx context.Context) {
	defer close(b.stopped)
	for {
		e, err := b.member.start(ctx)
		if err != nil {
			if ctx.Err() == nil {
				b.errc <- err
			}
			return
		}
		b.mu.Lock()
		b.etcd = e
		b.mu.Unlock()
		rejoin, err := b.serveMember(ctx, e)
		b.mu.Lock()
		b.etcd = nil
		b.mu.Unlock()
		if err != nil {
			b.errc <- err
			return
		}
		if !rejoin {
			return
		}
	}
}

func (b *embeddedEtcd) serveMember(ctx context.Context, e *embed.Etcd) (rejoin bool, err error) {
	m := b.member
	ready := e.Server.ReadyNotify()
	var promoted chan struct{}
	pctx, stopPromoting := context.WithCancel(ctx)
	defer stopPromoting()
	serving := func() {
		if m.founding {
			if err := m.recordCluster(ctx, e, true); err != nil {
				return
			}
			m.founding = false
		} else {
			go func() { _ = m.recordCluster(ctx, e, false) }()
		}
		b.readyOnce.Do(func() { close(b.ready) })
		m.log.Info("etcd member serving", "id", e.Server.MemberID().String())
	}
	for {
		var ended error
		select {
		case <-ready:
			ready = nil
			if !e.Server.IsLearner() {
				serving()
				continue
			}
			// A learner refuses the apiserver's requests: Ready waits for the promotion.
			promoted = make(chan struct{})
			go func() {
				if m.promote(pctx, e) == nil {
					close(promoted)
				}
			}()
			continue
		case <-promoted:
			promoted = nil
			serving()
			continue
		case err := <-e.Err():
			ended = err
		case <-e.Server.StopNotify():
			ended = errors.New("etcd stopped by itself (see its log)")
		case <-ctx.Done():
			e.Close()
			return false, nil
		}
		id := e.Server.MemberID()
		e.Close()
		if b.leaving() || ctx.Err() != nil {
			return false, nil
		}
		if m.removedFromCluster(ctx, e, id) {
			m.log.Warn("etcd member was removed from the cluster: deleting its data and joining again", "id", id.String())
			return true, m.wipe()
		}
		return false, fmt.Errorf("embedded etcd member %s: %w", m.self.Name, ended)
	}
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

// retryLevel logs at Info the refusals etcd's strict reconfiguration check makes while members
// connect or a learner catches up (they pass by themselves within seconds), and anything else at
// Warn.
func retryLevel(err error) slog.Level {
	for _, transient := range []error{rpctypes.ErrUnhealthy, rpctypes.ErrTooManyLearners, rpctypes.ErrMemberNotEnoughStarted, rpctypes.ErrMemberLearnerNotReady} {
		if errors.Is(err, transient) {
			return slog.LevelInfo
		}
	}
	return slog.LevelWarn
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
