package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
)

// EmbeddedEtcdConfig configures the etcd member vkube runs in-process.
type EmbeddedEtcdConfig struct {
	// Name of this member (the pod name in a StatefulSet); default "vkube".
	Name string
	// ListenHost is where client and peer listeners bind; default 127.0.0.1.
	ListenHost string
	// AdvertiseHost is the name peers reach this member by; default ListenHost.
	AdvertiseHost string
	// ClientPort and PeerPort: 0 picks free ports once and remembers them in the data dir.
	ClientPort, PeerPort int
	// InitialCluster is name=https://host:port,…; default this member alone.
	InitialCluster string
	// Existing joins a cluster that already runs instead of founding one.
	Existing bool
	// Server and Peer are this member's certs; CA is the etcd CA both verify against.
	ServerCert, ServerKey, PeerCert, PeerKey, CA string
	// Client is the cert the apiserver presents.
	Client TLSFiles
	// Peers is the whole desired membership of a multi-member cluster, this member (matched by
	// Name) included, the founder first (NAME-0); empty runs a single member. With Peers the
	// member restarts with its data, else joins the cluster the others run, else founds one if it
	// is the founder. Its advertised URLs and ports come from its entry (AdvertiseHost is not
	// used), ListenHost defaults to its URLs' host when that is an IP and to 0.0.0.0 otherwise,
	// and InitialCluster and Existing must stay unset.
	Peers []EtcdPeer
	// Record keeps the identity of the cluster Peers run outside their data; with it, the founder
	// never founds a new cluster in place of a recorded one (see ClusterRecord). Nil: not kept.
	Record ClusterRecord
	// AcknowledgeDataLoss is the ID of a recorded cluster whose loss the operator accepts: the
	// founder then founds a new, empty cluster in its place.
	AcknowledgeDataLoss string
}

type embeddedEtcd struct {
	lifecycle
	endpoint Endpoint
	// member is set when the etcd is one member of several (Peers).
	member    *etcdMember
	readyOnce sync.Once

	mu sync.Mutex
	// etcd is the running server; with Peers it changes when the member rejoins, and is nil
	// while it is not running.
	etcd *embed.Etcd
	// removing is set by RemoveSelf, so that the member stopping is not taken for a failure.
	removing bool
}

func startEmbeddedEtcd(ctx context.Context, cfg Config) (Backend, error) {
	if len(cfg.Etcd.Peers) > 0 {
		return startEtcdMember(ctx, cfg)
	}
	ec := cfg.Etcd
	if ec.Name == "" {
		ec.Name = "vkube"
	}
	if ec.ListenHost == "" {
		ec.ListenHost = "127.0.0.1"
	}
	if ec.AdvertiseHost == "" {
		ec.AdvertiseHost = ec.ListenHost
	}
	dir := filepath.Join(cfg.DataDir, "etcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("backend: etcd data dir: %w", err)
	}
	if err := rememberPorts(filepath.Join(dir, "ports.json"), &ec.ClientPort, &ec.PeerPort); err != nil {
		return nil, err
	}
	clientURL := url.URL{Scheme: "https", Host: hostPort(ec.ListenHost, ec.ClientPort)}
	peerListen := url.URL{Scheme: "https", Host: hostPort(ec.ListenHost, ec.PeerPort)}
	peerAdvertise := url.URL{Scheme: "https", Host: hostPort(ec.AdvertiseHost, ec.PeerPort)}
	clientAdvertise := url.URL{Scheme: "https", Host: hostPort(ec.AdvertiseHost, ec.ClientPort)}

	e := newEmbedConfig(ec)
	// A lone member has no peer to hear from, yet its first election still waits out raft's
	// randomized timeout: up to a second at etcd's defaults (100 ms ticks, 1 s timeout), a third
	// of a virtual cluster's start. Shorter ticks bound the wait to a quarter second.
	e.TickMs, e.ElectionMs = 50, 250
	e.Name = ec.Name
	e.Dir = filepath.Join(dir, "data")
	e.ListenClientUrls = []url.URL{clientURL}
	e.AdvertiseClientUrls = []url.URL{clientAdvertise}
	e.ListenPeerUrls = []url.URL{peerListen}
	e.AdvertisePeerUrls = []url.URL{peerAdvertise}
	e.InitialCluster = ec.InitialCluster
	if e.InitialCluster == "" {
		e.InitialCluster = ec.Name + "=" + peerAdvertise.String()
	}
	e.ClusterState = embed.ClusterStateFlagNew
	if ec.Existing {
		e.ClusterState = embed.ClusterStateFlagExisting
	}
	e.InitialClusterToken = "vkube"

	etcd, err := embed.StartEtcd(e)
	if err != nil {
		return nil, fmt.Errorf("backend: starting embedded etcd: %w", err)
	}
	b := &embeddedEtcd{
		lifecycle: newLifecycle(),
		etcd:      etcd,
		endpoint:  Endpoint{Servers: []string{clientURL.String()}, TLS: TLSFiles{CAFile: ec.CA, CertFile: ec.Client.CertFile, KeyFile: ec.Client.KeyFile}},
	}
	// The member outlives ctx (the process's signal context): Stop ends it, after the control
	// plane that still uses it.
	ectx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.cancel = cancel
	go func() {
		select {
		case <-etcd.Server.ReadyNotify():
			close(b.ready)
		case <-ectx.Done():
		}
	}()
	go func() {
		defer close(b.stopped)
		select {
		case err := <-etcd.Err():
			b.errc <- fmt.Errorf("embedded etcd: %w", err)
		case <-ectx.Done():
		}
		etcd.Close()
	}()
	return b, nil
}

// startEtcdMember starts one member of a multi-member cluster; deciding whether to restart,
// join or found can take a while, so it happens in the background and Ready tells the outcome.
func startEtcdMember(ctx context.Context, cfg Config) (Backend, error) {
	m, err := newEtcdMember(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(m.dir), 0o700); err != nil {
		return nil, fmt.Errorf("backend: etcd data dir: %w", err)
	}
	b := &embeddedEtcd{lifecycle: newLifecycle(), member: m, endpoint: m.endpoint()}
	ectx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.cancel = cancel
	go b.runMember(ectx)
	return b, nil
}

// newEmbedConfig is what every embedded member shares: TLS with client certs required, and the
// compaction and size limits.
func newEmbedConfig(ec EmbeddedEtcdConfig) *embed.Config {
	e := embed.NewConfig()
	e.ClientTLSInfo = transport.TLSInfo{CertFile: ec.ServerCert, KeyFile: ec.ServerKey, TrustedCAFile: ec.CA, ClientCertAuth: true}
	e.PeerTLSInfo = transport.TLSInfo{CertFile: ec.PeerCert, KeyFile: ec.PeerKey, TrustedCAFile: ec.CA, ClientCertAuth: true}
	e.LogLevel = "warn"
	e.AutoCompactionMode = embed.CompactorModePeriodic
	e.AutoCompactionRetention = "5m"
	e.QuotaBackendBytes = 2 << 30
	e.SnapshotCount = 10000
	return e
}

func (b *embeddedEtcd) Kind() Kind         { return EtcdEmbedded }
func (b *embeddedEtcd) Endpoint() Endpoint { return b.endpoint }

func hostPort(host string, port int) string {
	if len(host) > 0 && host[0] != '[' && containsColon(host) {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

func containsColon(s string) bool {
	for i := range s {
		if s[i] == ':' {
			return true
		}
	}
	return false
}

// rememberPorts fills zero ports with free ones chosen on the first start and reused after: a
// member's peer URL is part of the cluster's membership and must not change across restarts.
func rememberPorts(path string, client, peer *int) error {
	var saved struct{ Client, Peer int }
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &saved); err != nil {
			return fmt.Errorf("backend: %s is corrupt (%v): delete it to pick new ports", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	pick := func(want *int, saved int) error {
		switch {
		case *want != 0:
		case saved != 0:
			*want = saved
		default:
			p, err := freeLoopbackPort()
			if err != nil {
				return err
			}
			*want = p
		}
		return nil
	}
	if err := pick(client, saved.Client); err != nil {
		return err
	}
	if err := pick(peer, saved.Peer); err != nil {
		return err
	}
	data, _ := json.Marshal(struct{ Client, Peer int }{*client, *peer})
	return os.WriteFile(path, data, 0o600)
}
