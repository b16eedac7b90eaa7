package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
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

// client is an etcd client of the given members, presenting the apiserver's client cert.
func (m *etcdMember) client(endpoints []string) (*clientv3.Client, error) {
	tc, err := transport.TLSInfo{CertFile: m.ec.Client.CertFile, KeyFile: m.ec.Client.KeyFile, TrustedCAFile: m.ec.CA}.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("backend: etcd client TLS: %w", err)
	}
	return clientv3.New(clientv3.Config{Endpoints: endpoints, TLS: tc, DialTimeout: memberProbe.timeout, Logger: zap.NewNop()})
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
