package backend

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"vkube.io/vkube/certs"
)

// testPKI is the one PKI every member of every test uses, as the replicas of a virtual cluster
// share theirs: etcd server and peer certs valid for 127.0.0.2–4.
var testPKI *certs.PKI

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "vkube-backend-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testPKI, _, err = certs.Ensure(context.Background(), certs.NewDirStore(filepath.Join(dir, "store")), filepath.Join(dir, "pki"),
		certs.Options{Name: "vc", EtcdDNSNames: memberIPs})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The members of these tests start together, so the founder need not wait long for others.
	memberProbe.rounds, memberProbe.interval, memberProbe.timeout = 2, 300*time.Millisecond, time.Second
	return m.Run()
}

var memberIPs = []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}

// etcdHarness runs up to three real members on 127.0.0.2–4, one data dir each, sharing one PKI.
type etcdHarness struct {
	t     *testing.T
	pki   *certs.PKI
	peers []EtcdPeer
	dirs  []string
	mu    sync.Mutex
	run   []Backend
	// record and acknowledgeDataLoss are passed to the members the harness starts.
	record              ClusterRecord
	acknowledgeDataLoss string
}

func newEtcdHarness(t *testing.T) *etcdHarness {
	t.Helper()
	h := &etcdHarness{t: t, pki: testPKI, run: make([]Backend, len(memberIPs))}
	for i, ip := range memberIPs {
		h.peers = append(h.peers, EtcdPeer{
			Name:      fmt.Sprintf("vc-%d", i),
			PeerURL:   "https://" + net.JoinHostPort(ip, strconv.Itoa(freePort(t, ip))),
			ClientURL: "https://" + net.JoinHostPort(ip, strconv.Itoa(freePort(t, ip))),
		})
		h.dirs = append(h.dirs, t.TempDir())
	}
	// Members stopping together would each try to hand leadership to another one stopping and
	// wait for etcd's request timeout; a test has no use for a graceful end.
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for i := range h.run {
			wg.Go(func() { h.kill(i) })
		}
		wg.Wait()
	})
	return h
}

// nextPort hands out ports below Linux's ephemeral range (32768–60999), so that no outgoing
// connection takes a member's port between two of its starts; the pid spreads concurrent runs.
var nextPort = struct {
	sync.Mutex
	port int
}{port: 21000 + os.Getpid()%200*50}

func freePort(t *testing.T, ip string) int {
	nextPort.Lock()
	defer nextPort.Unlock()
	for range 1000 {
		nextPort.port++
		if nextPort.port >= 32000 {
			nextPort.port = 21000
		}
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(nextPort.port)))
		if err == nil {
			l.Close()
			return nextPort.port
		}
	}
	t.Fatalf("no free port on %s (loopback aliases beyond 127.0.0.1 are needed)", ip)
	return 0
}

// start starts member i with the given membership without waiting for it to serve.
func (h *etcdHarness) start(i int, peers []EtcdPeer) Backend {
	h.t.Helper()
	p := h.pki
	b, err := Start(context.Background(), Config{
		Kind: EtcdEmbedded, DataDir: h.dirs[i],
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)).With("test", h.t.Name()),
		Etcd: EmbeddedEtcdConfig{
			Name:       h.peers[i].Name,
			Peers:      peers,
			ServerCert: p.Path(certs.EtcdServerCert), ServerKey: p.Path(certs.EtcdServerKey),
			PeerCert: p.Path(certs.EtcdPeerCert), PeerKey: p.Path(certs.EtcdPeerKey),
			CA:     p.Path(certs.EtcdCACert),
			Client: TLSFiles{CertFile: p.Path(certs.APIServerEtcdClientCert), KeyFile: p.Path(certs.APIServerEtcdClientKey)},
			Record: h.record, AcknowledgeDataLoss: h.acknowledgeDataLoss,
		},
	})
	if err != nil {
		h.t.Fatalf("starting %s: %v", h.peers[i].Name, err)
	}
	h.mu.Lock()
	h.run[i] = b
	h.mu.Unlock()
	return b
}

func (h *etcdHarness) waitReady(is ...int) {
	h.t.Helper()
	for _, i := range is {
		select {
		case <-h.run[i].Ready():
		case err := <-h.run[i].Err():
			h.t.Fatalf("%s failed: %v", h.peers[i].Name, err)
		case <-time.After(30 * time.Second):
			h.t.Fatalf("%s not serving after 30s", h.peers[i].Name)
		}
	}
}

// found starts all three members together, as a StatefulSet with Parallel pod management does.
func (h *etcdHarness) found() {
	h.t.Helper()
	for i := range h.peers {
		h.start(i, h.peers)
	}
	h.waitReady(0, 1, 2)
}

func (h *etcdHarness) stop(i int) {
	h.mu.Lock()
	b := h.run[i]
	h.run[i] = nil
	h.mu.Unlock()
	if b == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		h.t.Errorf("stopping %s: %v", h.peers[i].Name, err)
	}
}

// kill stops member i the way a crash does: no leadership transfer, no goodbye.
func (h *etcdHarness) kill(i int) {
	h.mu.Lock()
	b, _ := h.run[i].(*embeddedEtcd)
	h.mu.Unlock()
	if b == nil {
		return
	}
	b.mu.Lock()
	e := b.etcd
	b.mu.Unlock()
	if e != nil {
		e.Server.HardStop()
	}
	h.stop(i)
}

func (h *etcdHarness) client(is ...int) *clientv3.Client {
	h.t.Helper()
	tc, err := transport.TLSInfo{
		CertFile: h.pki.Path(certs.APIServerEtcdClientCert), KeyFile: h.pki.Path(certs.APIServerEtcdClientKey),
		TrustedCAFile: h.pki.Path(certs.EtcdCACert),
	}.ClientConfig()
	if err != nil {
		h.t.Fatal(err)
	}
	var eps []string
	for _, i := range is {
		eps = append(eps, h.peers[i].ClientURL)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, TLS: tc, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { cli.Close() })
	return cli
}

func (h *etcdHarness) putN(cli *clientv3.Client, prefix string, n int) {
	h.t.Helper()
	for k := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := cli.Put(ctx, fmt.Sprintf("%s/%03d", prefix, k), strconv.Itoa(k))
		cancel()
		if err != nil {
			h.t.Fatalf("put %s/%03d: %v", prefix, k, err)
		}
	}
}

// keys reads every key under prefix through member i, linearizably.
func (h *etcdHarness) keys(i int, prefix string) map[string]string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := h.client(i).Get(ctx, prefix+"/", clientv3.WithPrefix())
	if err != nil {
		h.t.Fatalf("reading %s through %s: %v", prefix, h.peers[i].Name, err)
	}
	out := map[string]string{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = string(kv.Value)
	}
	return out
}

func (h *etcdHarness) wantKeys(i int, prefix string, n int) {
	h.t.Helper()
	got := h.keys(i, prefix)
	for k := range n {
		key := fmt.Sprintf("%s/%03d", prefix, k)
		if got[key] != strconv.Itoa(k) {
			h.t.Fatalf("%s through %s: %q, want %q (%d keys read)", key, h.peers[i].Name, got[key], strconv.Itoa(k), len(got))
		}
	}
}

// wantMembers checks through member i that the cluster lists exactly names, all started.
func (h *etcdHarness) wantMembers(i int, names ...string) []*etcdserverpb.Member {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := h.client(i).MemberList(ctx)
	if err != nil {
		h.t.Fatalf("listing members through %s: %v", h.peers[i].Name, err)
	}
	var got []string
	for _, m := range resp.Members {
		if len(m.ClientURLs) == 0 || m.IsLearner {
			h.t.Errorf("member %x (%s) has not started or is a learner", m.ID, m.Name)
		}
		got = append(got, m.Name)
	}
	slices.Sort(got)
	if !slices.Equal(got, names) {
		h.t.Fatalf("members %v, want %v", got, names)
	}
	return resp.Members
}

func memberID(t *testing.T, ms []*etcdserverpb.Member, name string) uint64 {
	for _, m := range ms {
		if m.Name == name {
			return m.ID
		}
	}
	t.Fatalf("no member %s", name)
	return 0
}

func TestEtcdMembersFoundTogether(t *testing.T) {
	t.Parallel()
	h := newEtcdHarness(t)
	h.found()
	h.wantMembers(1, "vc-0", "vc-1", "vc-2")
	h.putN(h.client(0), "a", 10)
	h.wantKeys(2, "a", 10)
	if got := h.run[1].Endpoint().Servers; !slices.Equal(got, []string{h.peers[1].ClientURL, h.peers[0].ClientURL, h.peers[2].ClientURL}) {
		t.Errorf("endpoint of vc-1 %v: want its own client URL first, then the others", got)
	}
}

func TestEtcdMemberRestartsWithItsData(t *testing.T) {
	t.Parallel()
	h := newEtcdHarness(t)
	h.found()
	before := h.wantMembers(0, "vc-0", "vc-1", "vc-2")
	h.putN(h.client(0), "b", 20)
	h.stop(1)
	h.putN(h.client(0, 2), "c", 20) // written while vc-1 is down
	h.start(1, h.peers)
	h.waitReady(1)
	after := h.wantMembers(1, "vc-0", "vc-1", "vc-2")
	if memberID(t, before, "vc-1") != memberID(t, after, "vc-1") {
		t.Errorf("vc-1 rejoined under a new member ID: it should have restarted with its data")
	}
	h.wantKeys(1, "b", 20)
	h.wantKeys(1, "c", 20)
}

func TestEtcdMemberReplacedWithoutData(t *testing.T) {
	t.Parallel()
	h := newEtcdHarness(t)
	h.found()
	before := h.wantMembers(0, "vc-0", "vc-1", "vc-2")
	h.putN(h.client(0), "d", 20)
	h.stop(2)
	if err := os.RemoveAll(h.dirs[2]); err != nil { // an emptyDir of a rescheduled pod
		t.Fatal(err)
	}
	h.start(2, h.peers)
	h.waitReady(2)
	after := h.wantMembers(0, "vc-0", "vc-1", "vc-2")
	if memberID(t, before, "vc-2") == memberID(t, after, "vc-2") {
		t.Errorf("vc-2 kept its member ID: its former self should have been removed and a new member added")
	}
	h.wantKeys(2, "d", 20)
	h.putN(h.client(2), "e", 5)
	h.wantKeys(0, "e", 5)
}

func TestEtcdScaleOneToThree(t *testing.T) {
	t.Parallel()
	h := newEtcdHarness(t)
	h.start(0, h.peers[:1])
	h.waitReady(0)
	h.putN(h.client(0), "f", 20)
	h.start(1, h.peers)
	h.start(2, h.peers)
	h.waitReady(1, 2)
	h.wantMembers(2, "vc-0", "vc-1", "vc-2")
	h.wantKeys(2, "f", 20)
}

func TestEtcdScaleThreeToOne(t *testing.T) {
	t.Parallel()
	h := newEtcdHarness(t)
	h.found()
	h.putN(h.client(0), "g", 20)
	for _, i := range []int{2, 1} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := h.run[i].(MemberRemover).RemoveSelf(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s: RemoveSelf: %v", h.peers[i].Name, err)
		}
		if _, err := os.Stat(filepath.Join(h.dirs[i], "etcd", "data")); !os.IsNotExist(err) {
			t.Errorf("%s kept its data after leaving (stat: %v)", h.peers[i].Name, err)
		}
		h.stop(i)
	}
	h.wantMembers(0, "vc-0")
	h.wantKeys(0, "g", 20)
	h.putN(h.client(0), "h", 5)
	h.wantKeys(0, "h", 5)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.run[0].(MemberRemover).RemoveSelf(ctx); err == nil {
		t.Errorf("the last member removed itself")
	}
}

func TestEtcdMemberRemovedWhileDownRejoins(t *testing.T) {
	t.Parallel()
	h := newEtcdHarness(t)
	h.found()
	before := h.wantMembers(0, "vc-0", "vc-1", "vc-2")
	h.stop(2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := h.client(0).MemberRemove(ctx, memberID(t, before, "vc-2")); err != nil {
		t.Fatal(err)
	}
	h.putN(h.client(0), "i", 10)
	h.start(2, h.peers) // with data etcd refuses: "permanently removed from the cluster"
	h.waitReady(2)
	h.wantMembers(0, "vc-0", "vc-1", "vc-2")
	h.wantKeys(2, "i", 10)
}

func TestEtcdNoAcknowledgedWriteLost(t *testing.T) {
	t.Parallel()
	h := newEtcdHarness(t)
	h.found()
	cli := h.client(0, 1, 2)
	killed := -1
	var acked []int
	for k := range 200 {
		if k == 100 {
			killed = h.leader(cli)
			h.kill(killed)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := cli.Put(ctx, fmt.Sprintf("w/%03d", k), strconv.Itoa(k))
		cancel()
		if err == nil {
			acked = append(acked, k)
		}
	}
	t.Logf("killed leader %s at write 100; %d of 200 writes acknowledged", h.peers[killed].Name, len(acked))
	if len(acked) < 150 {
		t.Fatalf("only %d writes acknowledged: the survivors should keep accepting writes", len(acked))
	}
	h.start(killed, h.peers)
	h.waitReady(killed)
	for i := range h.peers {
		got := h.keys(i, "w")
		for _, k := range acked {
			if key := fmt.Sprintf("w/%03d", k); got[key] != strconv.Itoa(k) {
				t.Fatalf("acknowledged write %s missing through %s", key, h.peers[i].Name)
			}
		}
	}
}

// leader returns the index of the member leading the cluster.
func (h *etcdHarness) leader(cli *clientv3.Client) int {
	h.t.Helper()
	for i, p := range h.peers {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := cli.Status(ctx, p.ClientURL)
		cancel()
		if err == nil && st.Leader == st.Header.MemberId {
			return i
		}
	}
	h.t.Fatal("no member reports being the leader")
	return -1
}
