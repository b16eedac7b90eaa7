package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/supervisor"
	"vkube.io/vkube/syncer/translate"
	"vkube.io/vkube/test/framework"
)

// TestHAEmbeddedEtcd is seed 004 §7 on the real host: `create --distro k8s -f ha.yaml` runs 3
// replicas on embedded etcd. A writer records every acknowledged write while replica pods are
// killed in turn (the etcd leader, the syncer's Lease holder, another): no acknowledged write is
// lost, the API answers again, the syncer resumes on another replica, and a pod created during
// each failover ends up on the host. Before and after, a Service is created through each
// replica's own API server and gets its host twin's ClusterIP, and the syncer suite runs through
// the API Service and through each replica (syncerSuite), and every DNS record (dnsRecords) and
// projected token audience through the API Service; a host Service mapped in by
// mapServices.fromHost still answers after the failovers moved the syncer. Last, every replica is killed at
// once: the emptyDir members come back empty and the cluster stays down until the loss is
// acknowledged. VKUBE_HA_KILLS sets the number of kills (make soak: 10).
func TestHAEmbeddedEtcd(t *testing.T) {
	c := newCLI(t)
	hc, err := host.Client()
	if err != nil {
		t.Fatal(err)
	}
	kills := haKills()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(12+2*kills)*time.Minute)
	defer cancel()
	const name, ns = "ha-vcluster", "vkube-ha-vcluster"
	t.Cleanup(func() { _, _ = c.run(context.Background(), "delete", name) })
	// A host Service mapped into the virtual cluster (seed 000's mapServices.fromHost): the
	// replicator runs on the syncer's Lease holder and must move with it.
	infra := "infra-ha"
	hostNamespace(t, hc, infra)
	deployHello(ctx, t, hc, infra, "echo")
	maps := filepath.Join(t.TempDir(), "maps.yaml")
	if err := os.WriteFile(maps, []byte("mapServices:\n  fromHost:\n    - from: "+infra+"/echo\n      to: kube-system/echo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Seed 004's ha.yaml pins v1.25.0 component images; vkube runs the image's version.
	c.must(ctx, "create", name, "--connect=false", "--distro", "k8s", "-f", seedValues("004_4.yaml"), "-f", maps, "--kubernetes-version", host.Config().KubeVersion)
	h := haCluster{name: name, ns: ns, replicas: 3, hc: hc, vc: haClient(ctx, t, c, hc, ns, name),
		etcdLeader: func(ctx context.Context) string { return etcdLeader(ctx, t, hc, ns, name) }}
	h.servicesThroughEveryReplica(ctx, t, c, "before")
	h.syncerSuite(ctx, t, c)
	api := serviceConfig(ctx, t, c, hc, ns, name)
	projectedTokenAudience(ctx, t, h.vc, func(ctx context.Context, pod string, cmd ...string) (string, error) {
		return execWith(ctx, api, "default", pod, cmd...)
	})
	if _, err := h.vc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dns"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	newDNSRecords(ctx, t, h.vc, "dns").check(ctx, t, func(ctx context.Context, pod string, cmd ...string) (string, error) {
		return execWith(ctx, api, "dns", pod, cmd...)
	})
	h.mappedHostService(ctx, t, c, "echo.kube-system")
	h.failovers(ctx, t, kills)
	// The failovers killed the syncer's Lease holder: the webhook holds through the new one too.
	h.servicesThroughEveryReplica(ctx, t, c, "after")
	h.kubeletEndpointThroughEveryReplica(ctx, t, c, "during-1")
	h.mappedHostService(ctx, t, c, "echo.kube-system")
	h.everyMemberRestartedEmpty(ctx, t, c)
}

// haKills is the number of replica kills of an HA test: 3, or VKUBE_HA_KILLS (make soak: 10).
func haKills() int {
	if n, err := strconv.Atoi(os.Getenv("VKUBE_HA_KILLS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// haCluster is a virtual cluster of several replicas whose failovers a test checks.
type haCluster struct {
	name, ns string
	replicas int
	hc, vc   kubernetes.Interface
	// etcdLeader names the replica leading embedded etcd; nil with an external datastore, where
	// no replica leads it.
	etcdLeader func(ctx context.Context) string
}

// haClient is a client of the virtual cluster's API through its Service, as the tenant reaches
// it, with a short timeout so that a write to a killed replica fails fast.
func haClient(ctx context.Context, t *testing.T, c *cli, hc kubernetes.Interface, ns, name string) kubernetes.Interface {
	t.Helper()
	rc := serviceConfig(ctx, t, c, hc, ns, name)
	rc.Timeout = 5 * time.Second
	return kubernetes.NewForConfigOrDie(rc)
}

// serviceConfig is the REST config of the virtual API through the host Service's ClusterIP.
func serviceConfig(ctx context.Context, t *testing.T, c *cli, hc kubernetes.Interface, ns, name string) *rest.Config {
	t.Helper()
	svc, err := hc.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), name+".kubeconfig")
	out := c.must(ctx, "connect", name, "--print", "--server", "https://"+net.JoinHostPort(svc.Spec.ClusterIP, "443"))
	if err := os.WriteFile(kubeconfig, []byte(out[strings.Index(out, "apiVersion"):]), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	rc.Timeout = 15 * time.Second
	return rc
}

// haRole is a replica a failover kills: the one pick names, given the syncer Lease's holder.
type haRole struct {
	name string
	pick func(ctx context.Context, holder string) string
}

// roles are the replicas to kill in turn: the etcd leader (embedded etcd only), the syncer
// Lease holder, and one that leads nothing.
func (h haCluster) roles() []haRole {
	other := func(ctx context.Context, holder string) string {
		var leader string
		if h.etcdLeader != nil {
			leader = h.etcdLeader(ctx)
		}
		for j := h.replicas - 1; j >= 0; j-- {
			if p := fmt.Sprintf("%s-%d", h.name, j); p != holder && p != leader {
				return p
			}
		}
		return ""
	}
	if h.etcdLeader == nil {
		return []haRole{
			{"syncer Lease holder", func(_ context.Context, holder string) string { return holder }},
			{"not the Lease holder", other},
		}
	}
	return []haRole{
		{"etcd leader", func(ctx context.Context, _ string) string { return h.etcdLeader(ctx) }},
		{"syncer Lease holder", func(_ context.Context, holder string) string { return holder }},
		{"neither leader", other},
	}
}

// failovers runs a writer that records every acknowledged write while it kills replica pods in
// turn (rotating through roles), and checks that after each kill the API answers, a pod created
// during the failover ends up on the host (the syncer resumed), and all replicas become ready
// again; then that no acknowledged write is lost. It returns the stopped writer.
func (h haCluster) failovers(ctx context.Context, t *testing.T, kills int) *framework.Writer {
	t.Helper()
	// kube-proxy may not have programmed the Service's just-ready endpoints yet: the first
	// request is retried, as a user's would be.
	pctx, pcancel := context.WithTimeout(ctx, time.Minute)
	poll(pctx, t, "the virtual API through its Service", func() bool {
		_, err := h.vc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "writes"}}, metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err)
	})
	pcancel()
	w := framework.StartWriter(h.vc, "writes", 50*time.Millisecond)
	roles := h.roles()
	var handovers []time.Duration
	for i := 0; i < kills; i++ {
		pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
		poll(pctx, t, "writes acknowledged before kill", func() bool { return w.Acked() >= 20*(i+1) })
		pcancel()
		holder := leaseHolder(ctx, h.hc, h.ns, h.name)
		role := roles[i%len(roles)]
		victim := role.pick(ctx, holder)
		if victim == "" {
			t.Fatalf("kill %d: no replica is the %s (Lease holder %q)", i+1, role.name, holder)
		}
		t.Logf("kill %d: %s (%s; Lease holder %s)", i+1, victim, role.name, holder)
		killed := time.Now()
		if err := h.hc.CoreV1().Pods(h.ns).Delete(ctx, victim, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); err != nil {
			t.Fatal(err)
		}
		during := fmt.Sprintf("during-%d", i+1)
		pctx, pcancel = context.WithTimeout(ctx, 2*time.Minute)
		poll(pctx, t, "a pod created during the failover", func() bool {
			_, err := h.vc.CoreV1().Pods("default").Create(ctx, helloPod(during, nil), metav1.CreateOptions{})
			return err == nil || strings.Contains(err.Error(), "already exists")
		})
		poll(pctx, t, "the failover's pod Running on the host", func() bool {
			p, err := h.hc.CoreV1().Pods(h.ns).Get(ctx, translate.HostName(during, "default", h.name), metav1.GetOptions{})
			return err == nil && p.Status.Phase == corev1.PodRunning
		})
		pcancel()
		if victim == holder {
			handovers = append(handovers, time.Since(killed))
		}
		pctx, pcancel = context.WithTimeout(ctx, 3*time.Minute)
		poll(pctx, t, fmt.Sprintf("%d of %d replicas ready again", h.replicas, h.replicas), func() bool {
			sts, err := h.hc.AppsV1().StatefulSets(h.ns).Get(ctx, h.name, metav1.GetOptions{})
			return err == nil && int(sts.Status.ReadyReplicas) == h.replicas
		})
		pcancel()
		t.Logf("kill %d: all replicas ready again after %.1fs", i+1, time.Since(killed).Seconds())
	}
	w.Stop()
	lost, err := w.Lost(ctx, h.vc)
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) > 0 {
		t.Fatalf("%d acknowledged writes lost: %v", len(lost), lost[:min(10, len(lost))])
	}
	h.serviceTwinsMatch(ctx, t, w, "writes")
	outages := w.Outages()
	sort.Slice(outages, func(i, j int) bool { return outages[i] < outages[j] })
	t.Logf("BENCH HA %s: %d replicas, %d kills, %d writes acknowledged, 0 lost; API unavailability max %v median %v; syncer hand-over %v",
		h.name, h.replicas, kills, w.Acked(), append([]time.Duration{0}, outages...)[len(outages)], median(outages), handovers)
	return w
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[len(d)/2]
}

func leaseHolder(ctx context.Context, hc kubernetes.Interface, ns, name string) string {
	l, err := hc.CoordinationV1().Leases(ns).Get(ctx, supervisor.SyncerLeaseName(name), metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// etcdLeader asks each replica's etcd member who leads, with the PKI's etcd client cert.
func etcdLeader(ctx context.Context, t *testing.T, hc kubernetes.Interface, ns, name string) string {
	t.Helper()
	sec, err := hc.CoreV1().Secrets(ns).Get(ctx, name+"-certs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(sec.Data[certs.APIServerEtcdClientCert], sec.Data[certs.APIServerEtcdClientKey])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sec.Data[certs.EtcdCACert])
	pods, err := hc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + name + ",app.kubernetes.io/name=vkube"})
	if err != nil {
		t.Fatal(err)
	}
	var endpoints []string
	for _, p := range pods.Items {
		if p.Status.PodIP != "" {
			endpoints = append(endpoints, "https://"+net.JoinHostPort(p.Status.PodIP, "2379"))
		}
	}
	// The members' certificates name their headless-Service DNS names, which this machine does
	// not resolve: verify the chain against the etcd CA, not the pod IP dialled.
	verifyChain := func(cs tls.ConnectionState) error {
		opts := x509.VerifyOptions{Roots: pool, Intermediates: x509.NewCertPool()}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(opts)
		return err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 3 * time.Second,
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true, VerifyConnection: verifyChain}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for _, ep := range endpoints {
		sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		st, err := cli.Status(sctx, ep)
		cancel()
		if err != nil {
			continue
		}
		members, err := cli.MemberList(ctx)
		if err != nil {
			continue
		}
		for _, m := range members.Members {
			if m.ID == st.Leader {
				return m.Name
			}
		}
	}
	t.Fatal("no etcd member answered with its leader")
	return ""
}

// TestHAScale: a virtual cluster on embedded etcd grows from 1 to 3 replicas and shrinks back to
// 1 with `vkube create --upgrade`, keeping every object.
func TestHAScale(t *testing.T) {
	c := newCLI(t)
	hc, err := host.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 18*time.Minute)
	defer cancel()
	const name, ns = "scale", "vkube-scale"
	t.Cleanup(func() { _, _ = c.run(context.Background(), "delete", name) })
	etcd := "--set=controlPlane.backingStore.etcd.embedded.enabled=true"
	c.must(ctx, "create", name, "--connect=false", etcd)
	for i := 0; i < 20; i++ {
		c.must(ctx, "connect", name, "--", "kubectl", "create", "configmap", fmt.Sprintf("before-%d", i), "--from-literal=i="+strconv.Itoa(i))
	}
	countConfigMaps := func(want int) {
		t.Helper()
		out := c.must(ctx, "connect", name, "--", "kubectl", "get", "configmaps", "-o", "name")
		if got := strings.Count(out, "configmap/before-"); got != want {
			t.Fatalf("want %d configmaps, got %d:\n%s", want, got, out)
		}
	}
	for _, replicas := range []int{3, 1} {
		c.must(ctx, "create", name, "--upgrade", "--connect=false", etcd, fmt.Sprintf("--set=controlPlane.statefulSet.highAvailability.replicas=%d", replicas))
		sts, err := hc.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || int(sts.Status.ReadyReplicas) != replicas {
			t.Fatalf("after scaling to %d: %v, %d ready", replicas, err, sts.Status.ReadyReplicas)
		}
		countConfigMaps(20)
		if replicas == 3 {
			// Persistent volumes (the default): replicas killed faster than they recover.
			h := haCluster{name: name, ns: ns, replicas: 3, hc: hc, vc: haClient(ctx, t, c, hc, ns, name)}
			h.rapidKills(ctx, t, 9*time.Second)
			countConfigMaps(20)
		}
	}
	if etcdLeader(ctx, t, hc, ns, name) != name+"-0" {
		t.Errorf("after 3 → 1 the one member left should be %s-0", name)
	}
}
