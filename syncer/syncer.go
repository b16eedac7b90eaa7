// Package syncer copies the low-level objects of a virtual cluster that need real nodes (pods,
// services, the config they use) into the host namespace under rewritten names, and copies
// their status back. The virtual cluster is the source of truth.
package syncer

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"vkube.io/vkube/syncer/translate"
)

// Config is what the syncer needs.
type Config struct {
	// Name of the virtual cluster and the host namespace its twins live in.
	Name          string
	HostNamespace string
	Virtual       *rest.Config
	Host          *rest.Config
	// VirtualCA is the virtual cluster's serving CA, given to pods with their token.
	VirtualCA []byte
	// ServiceAccountKey (PEM), when set, is the key the virtual API server signs tokens with: the
	// syncer then signs pod tokens itself, once the API server has accepted one.
	ServiceAccountKey []byte
	// TokenSecrets puts each pod's virtual ServiceAccount token in a host Secret of its own
	// instead of the host pod's annotations (which whoever may read host pods can read).
	TokenSecrets bool
	// APIHost/APIPort: where host pods reach the virtual apiserver.
	APIHost string
	APIPort int
	// DNSServer, when set, is the nameserver of synced pods (vkube's DNS, resolving virtual
	// Services); ClusterDomain its domain.
	DNSServer     string
	ClusterDomain string
	// HostsImage, when set, is the vkube image of the helper init container that writes the
	// virtual names into the /etc/hosts of a pod with a subdomain (sync.toHost.rewriteHostsImage).
	HostsImage string
	// KubeletAddress/KubeletPort: vkube's kubelet endpoint, the fake nodes' address.
	KubeletAddress string
	KubeletPort    int
	// RealNodes mirrors host nodes matching NodeSelector (all when empty) instead of fake
	// nodes; VirtualScheduler means a scheduler in the virtual cluster places pods on them.
	RealNodes        bool
	NodeSelector     map[string]string
	VirtualScheduler bool
	// Ingresses, NetworkPolicies and PodDisruptionBudgets are synced only when asked.
	Ingresses, NetworkPolicies, PodDisruptionBudgets bool
	// PriorityClasses, StorageClasses and PersistentVolumes (cluster-scoped) are synced to the
	// host only when asked; HostStorageClasses shares the host's StorageClasses into the virtual
	// cluster.
	PriorityClasses, StorageClasses, PersistentVolumes, HostStorageClasses bool
	// PodSecurityStandard is the level of the virtual namespaces (policies.podSecurityStandard),
	// HostPodSecurityStandard the host namespace's (policies.hostAccess.podSecurityStandard):
	// privileged, baseline or restricted, unset or privileged checking nothing. A pod must meet
	// the stricter to be synced; one that does not gets a Warning event SyncError.
	PodSecurityStandard     string
	HostPodSecurityStandard string
	// MaxPriorityClassValue is the highest value a synced PriorityClass keeps on the host (higher
	// ones are clamped to it, with a Warning event Clamped).
	MaxPriorityClassValue int32
	// HostQPS and HostBurst bound the host client (client-go's token bucket); PodWorkers and
	// OtherWorkers are each controller's concurrent reconciles. The supervisor passes the
	// config's values (its defaults included): zero is not a default here.
	HostQPS, HostBurst       int
	PodWorkers, OtherWorkers int
	// HostPathVolumes lets synced PersistentVolumes keep hostPath and local sources; without it
	// such a volume gets a Warning event SyncError and no twin.
	HostPathVolumes bool
	// ReplicateFromHost/ToHost map Services across the boundary (mapServices).
	ReplicateFromHost, ReplicateToHost []ServiceMapping
	// ExternalIPCIDRs (policies.hostAccess.externalIPCIDRs) is what a Service's externalIPs and
	// loadBalancerIP may claim on the host: nothing when empty.
	ExternalIPCIDRs []string
	// EndpointCIDRs (policies.hostAccess.endpointCIDRs) is the internal addresses endpoints may
	// point at besides the virtual cluster's own pods (public addresses need no listing).
	EndpointCIDRs []string
	// HostServiceCIDR is the host's service range ("a" or "a,b" for dual-stack): no endpoint
	// may point into it.
	HostServiceCIDR string
	// NodeIPs are the addresses of the host node vkube runs on: no endpoint may point there
	// (nor at the node of any synced pod, which the syncer sees itself).
	NodeIPs []string
	Logger  *slog.Logger
}

// Syncer runs the sync controllers. Its shape follows the supervisor's parts: Ready, Err, Stop.
type Syncer struct {
	cancel context.CancelFunc
	ready  chan struct{}
	errc   chan error
	done   chan struct{}
}

// resync makes every synced object reconcile periodically: tokens are renewed, drift repaired.
const resync = 5 * time.Minute

// cacheSyncTimeout bounds the first list of every synced kind: an informer that cannot list (a
// host Role without the verb, an API that never answers) retries forever, and the syncer would
// wait in silence with no controller running.
const cacheSyncTimeout = 5 * time.Minute

// Start builds the clients and controllers and runs them until ctx ends or Stop.
func Start(ctx context.Context, cfg Config) (*Syncer, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "syncer")
	if cfg.HostQPS <= 0 || cfg.HostBurst < cfg.HostQPS {
		return nil, fmt.Errorf("syncer: host API bucket %d/s, burst %d: want qps > 0 and burst ≥ qps", cfg.HostQPS, cfg.HostBurst)
	}
	vcfg, hcfg := rest.CopyConfig(cfg.Virtual), rest.CopyConfig(cfg.Host)
	// client-go's default 5 QPS would cap sync latency. The virtual API server is the tenant's
	// own; the host's is shared with every other tenant, so its bucket is the host admin's.
	vcfg.QPS, vcfg.Burst = 400, 800
	hcfg.QPS, hcfg.Burst = float32(cfg.HostQPS), cfg.HostBurst
	measureRequests(vcfg, "virtual")
	measureRequests(hcfg, "host")
	vdyn, err := dynamic.NewForConfig(vcfg)
	if err != nil {
		return nil, fmt.Errorf("syncer: virtual client: %w", err)
	}
	hdyn, err := dynamic.NewForConfig(hcfg)
	if err != nil {
		return nil, fmt.Errorf("syncer: host client: %w", err)
	}
	vcs := kubernetes.NewForConfigOrDie(protobuf(vcfg))
	hcs := kubernetes.NewForConfigOrDie(protobuf(hcfg))
	tctx := translate.Context{VCluster: cfg.Name, HostNamespace: cfg.HostNamespace}

	vInf := dynamicinformer.NewDynamicSharedInformerFactory(vdyn, resync)
	vmc, err := metadata.NewForConfig(vcfg)
	if err != nil {
		return nil, fmt.Errorf("syncer: virtual metadata client: %w", err)
	}
	vMeta := metadatainformer.NewSharedInformerFactory(vmc, resync)
	ownedTwins := func(o *metav1.ListOptions) { o.LabelSelector = translate.LabelManagedBy + "=" + cfg.Name }
	hInf := dynamicinformer.NewFilteredDynamicSharedInformerFactory(hdyn, resync, cfg.HostNamespace, ownedTwins)
	hmc, err := metadata.NewForConfig(hcfg)
	if err != nil {
		return nil, fmt.Errorf("syncer: host metadata client: %w", err)
	}
	hMeta := metadatainformer.NewFilteredSharedInformerFactory(hmc, resync, cfg.HostNamespace, ownedTwins)
	// Cluster-scoped twins live in no namespace.
	hClusterInf := dynamicinformer.NewFilteredDynamicSharedInformerFactory(hdyn, resync, metav1.NamespaceAll, ownedTwins)
	typed := informers.NewSharedInformerFactoryWithOptions(vcs, resync, informers.WithTransform(stripManagedFields))
	hostTyped := informers.NewSharedInformerFactoryWithOptions(hcs, resync, informers.WithNamespace(cfg.HostNamespace), informers.WithTransform(stripManagedFields),
		informers.WithTweakListOptions(ownedTwins))
	svcLister := typed.Core().V1().Services().Lister()

	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: vcs.CoreV1().Events("")})
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "vkube-syncer"})

	externalIPs, err := parsePrefixes(cfg.ExternalIPCIDRs)
	if err != nil {
		return nil, fmt.Errorf("syncer: %s: %w", keyExternalIPCIDRs, err)
	}
	policy := addressPolicy{}
	if policy.endpointCIDRs, err = parsePrefixes(cfg.EndpointCIDRs); err != nil {
		return nil, fmt.Errorf("syncer: %s: %w", keyEndpointCIDRs, err)
	}
	if policy.serviceCIDRs, err = parsePrefixes(strings.Split(cfg.HostServiceCIDR, ",")); err != nil {
		return nil, fmt.Errorf("syncer: host service CIDR: %w", err)
	}
	hostAddrs := &hostAddresses{own: map[netip.Addr]bool{}}
	for _, ip := range canonicalIPs(cfg.NodeIPs...) {
		hostAddrs.own[netip.MustParseAddr(ip)] = true
	}
	hPodInformer := hostTyped.Core().V1().Pods().Informer()
	if err := hPodInformer.AddIndexers(hostPodIndexers()); err != nil {
		return nil, fmt.Errorf("syncer: host pod indexes: %w", err)
	}
	hostAddrs.pods = hPodInformer.GetIndexer()
	var rn *realNodes
	var nodeInf informers.SharedInformerFactory
	if cfg.RealNodes {
		rn, nodeInf = newRealNodes(hcs, vcs, labels.SelectorFromSet(cfg.NodeSelector), cfg.KubeletAddress, cfg.KubeletPort, log)
		if err := nodeInf.Core().V1().Nodes().Informer().AddIndexers(nodeIndexers()); err != nil {
			return nil, fmt.Errorf("syncer: host node indexes: %w", err)
		}
		hostAddrs.nodes = nodeInf.Core().V1().Nodes().Informer().GetIndexer()
	}
	addresses := &endpointAddresses{policy: policy, facts: hostAddrs.facts}
	refusals := newSyncErrors(vcs, log)
	sliceInformer := withoutManagedFields(vInf.ForResource(endpointSlices{}.gvr()).Informer())
	if err := sliceInformer.AddIndexers(sliceAddressIndexers()); err != nil {
		return nil, fmt.Errorf("syncer: endpoint slice indexes: %w", err)
	}

	used, err := newUsage(typed.Core().V1().Pods().Informer())
	if err != nil {
		return nil, fmt.Errorf("syncer: pod usage index: %w", err)
	}
	nodes := &fakeNodes{virtual: vcs, address: cfg.KubeletAddress, port: cfg.KubeletPort, log: log, known: map[string]bool{}, disabled: cfg.RealNodes}
	podTokens := &tokens{tctx: tctx, virtual: vcs, host: hcs, ca: cfg.VirtualCA, useSecrets: cfg.TokenSecrets, stored: map[string]storedTokens{}}
	if len(cfg.ServiceAccountKey) > 0 {
		if podTokens.local, err = newLocalTokens(cfg.ServiceAccountKey, typed.Core().V1().ServiceAccounts().Lister(), vcs, log); err != nil {
			return nil, fmt.Errorf("syncer: %w", err)
		}
		podTokens.local.nodes = typed.Core().V1().Nodes().Lister()
	}
	podKind := &pods{tctx: tctx, cfg: &cfg, virtual: vcs, host: hcs, services: svcLister, nodes: nodes, tokens: podTokens}
	if rn != nil {
		// Its host nodes are also what a pod pinned to a node is checked against.
		podKind.hostNodes, podKind.nodeSelector = corelisters.NewNodeLister(rn.lister), rn.selector
	}
	slices := endpointSlices{tctx: tctx, services: svcLister, slices: vInf.ForResource(endpointSlices{}.gvr()).Lister(),
		byAddress: sliceInformer.GetIndexer(), addresses: addresses, errors: refusals}
	clusterEv := clusterEvents{events: vcs.CoreV1().Events(metav1.NamespaceDefault), log: log}
	// A lister asked of an informer factory makes the factory watch that resource (a watch the
	// host's RBAC may not allow, and a cost): only kinds that are synced ask for one.
	names := storageNames{tctx: tctx, volumes: cfg.PersistentVolumes}
	if cfg.StorageClasses {
		names.classes = vInf.ForResource(storageClasses{}.gvr()).Lister()
		names.virtual = vdyn
	}
	var priorityTwins cache.GenericLister
	if cfg.PriorityClasses {
		priorityTwins = hClusterInf.ForResource(priorityClasses{}.gvr()).Lister()
	}
	// The kinds synced through the dynamic clients, one row each, and whether this virtual
	// cluster syncs it (its config); pods are typed and follow the table.
	kinds := []struct {
		on   bool
		kind syncedKind
	}{
		{true, configMaps{tctx: tctx, used: used.configMap}},
		{true, secrets{tctx: tctx, used: used.secret}},
		{true, services{tctx: tctx, externalIPs: externalIPs, errors: refusals}},
		{true, slices},
		{cfg.StorageClasses, storageClasses{tctx: tctx}},
		{true, pvcs{tctx: tctx, names: names}},
		{cfg.PriorityClasses, priorityClasses{tctx: tctx, max: cfg.MaxPriorityClassValue, events: clusterEv, twins: priorityTwins}},
		{cfg.PersistentVolumes, persistentVolumes{tctx: tctx, names: names, virtual: vdyn, host: hdyn, hostPath: cfg.HostPathVolumes, events: clusterEv}},
		{cfg.Ingresses, ingresses{tctx: tctx}},
		{cfg.NetworkPolicies, networkPolicies{tctx: tctx}},
		{cfg.PodDisruptionBudgets, podDisruptionBudgets{tctx: tctx}},
	}
	controllers := map[string]*controller{}
	hosted := map[string]cache.GenericLister{}
	for _, row := range kinds {
		if !row.on {
			continue
		}
		k, gvr := row.kind, row.kind.gvr()
		v, h := dynamicObjects{vdyn.Resource(gvr)}, dynamicObjects{hdyn.Resource(gvr)}
		if only, ok := k.(metadataOnlyKind); ok {
			vinf, err := metadataInformer(vMeta, only)
			if err != nil {
				return nil, fmt.Errorf("syncer: %s metadata informer: %w", gvr.Resource, err)
			}
			hinf, err := hostMetadataInformer(hMeta, only)
			if err != nil {
				return nil, fmt.Errorf("syncer: host %s metadata informer: %w", gvr.Resource, err)
			}
			kind := fetchingKind{unstructuredKind: unstructuredKind{k}, only: only, virtual: vdyn.Resource(gvr), fetched: newFetchedObjects()}
			kind.fetched.forgetDeleted(vinf)
			c := newController(kind, tctx, tctx.HostNamespace, v, h, vinf, hinf, recorder, log)
			controllers[gvr.Resource], hosted[kindOf(gvr.Resource)] = c, c.hLister
			continue
		}
		if isClusterScoped(k) {
			controllers[gvr.Resource] = newController(adapt(k), tctx, "", v, h, withoutManagedFields(vInf.ForResource(gvr).Informer()), withoutManagedFields(hClusterInf.ForResource(gvr).Informer()), recorder, log)
			continue
		}
		hinf := hInf.ForResource(gvr)
		controllers[gvr.Resource] = newController(adapt(k), tctx, tctx.HostNamespace, v, h, withoutManagedFields(vInf.ForResource(gvr).Informer()), withoutManagedFields(hinf.Informer()), recorder, log)
		hosted[kindOf(gvr.Resource)] = hinf.Lister()
	}
	// Pods are typed end to end: protobuf watches and writes, no conversions.
	vPods, hPods := typed.Core().V1().Pods(), hostTyped.Core().V1().Pods()
	newPod := func() runtime.Object { return &corev1.Pod{} }
	podClients := func(cs kubernetes.Interface) objectClient {
		return typedObjects{client: cs.CoreV1().RESTClient(), resource: "pods", newObject: newPod}
	}
	pc := newController(podKind, tctx, tctx.HostNamespace, podClients(vcs), podClients(hcs), vPods.Informer(), hPods.Informer(), recorder, log)
	controllers["pods"], hosted["Pod"] = pc, pc.hLister
	podKind.hostPods = hPods.Lister()
	podTokens.hostSecrets = controllers["secrets"].hLister
	podTokens.renewLater = func(key string, after time.Duration) { pc.queue.AddAfter(key, after) }
	var shared *hostStorageClasses
	var sharedInf informers.SharedInformerFactory
	if cfg.HostStorageClasses {
		shared, sharedInf = newHostStorageClasses(hcs, vcs, typed, recorder, log)
	}
	hostEvents, hostEventInformers := newEvents(hcs, vcs, tctx, hosted, log)
	slices.followServices(typed.Core().V1().Services().Informer(), controllers["endpointslices"])
	slices.followHostPods(hPodInformer, controllers["endpointslices"])
	// A pod that starts or stops using a ConfigMap or Secret changes whether it is synced.
	_, _ = typed.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { used.enqueueRefs(o, controllers["configmaps"], controllers["secrets"]) },
		UpdateFunc: func(_, o any) { used.enqueueRefs(o, controllers["configmaps"], controllers["secrets"]) },
		DeleteFunc: func(o any) { used.enqueueRefs(o, controllers["configmaps"], controllers["secrets"]) },
	})

	var repl *replicator
	if len(cfg.ReplicateFromHost)+len(cfg.ReplicateToHost) > 0 {
		repl, err = newReplicator(&replicator{virtual: vcs, host: hcs, fromHost: cfg.ReplicateFromHost, toHost: cfg.ReplicateToHost,
			vcluster: cfg.Name, hostNS: cfg.HostNamespace, addresses: addresses, errors: refusals, log: log}, replicatedObjects{
			virtualServices: typed.Core().V1().Services().Informer(), virtualSlices: sliceInformer,
			hostServices: hInf.ForResource(services{}.gvr()).Informer(), hostSlices: hInf.ForResource(endpointSlices{}.gvr()).Informer(),
		})
		if err != nil {
			return nil, fmt.Errorf("syncer: mapped services: %w", err)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	s := &Syncer{cancel: cancel, ready: make(chan struct{}), errc: make(chan error, 1), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer broadcaster.Shutdown()
		vInf.Start(ctx.Done())
		vMeta.Start(ctx.Done())
		hInf.Start(ctx.Done())
		hMeta.Start(ctx.Done())
		hClusterInf.Start(ctx.Done())
		typed.Start(ctx.Done())
		hostTyped.Start(ctx.Done())
		if sharedInf != nil {
			sharedInf.Start(ctx.Done())
		}
		hostEventInformers.Start(ctx.Done())
		syncCtx, syncCancel := context.WithTimeout(ctx, cacheSyncTimeout)
		var unsynced []string
		for _, synced := range []map[schema.GroupVersionResource]bool{vInf.WaitForCacheSync(syncCtx.Done()), vMeta.WaitForCacheSync(syncCtx.Done()), hInf.WaitForCacheSync(syncCtx.Done()), hMeta.WaitForCacheSync(syncCtx.Done()), hClusterInf.WaitForCacheSync(syncCtx.Done())} {
			for gvr, ok := range synced {
				if !ok {
					unsynced = append(unsynced, gvr.Resource)
				}
			}
		}
		typedFactories := []informers.SharedInformerFactory{typed, hostTyped}
		if sharedInf != nil {
			typedFactories = append(typedFactories, sharedInf)
		}
		for _, f := range typedFactories {
			for t, ok := range f.WaitForCacheSync(syncCtx.Done()) {
				if !ok {
					unsynced = append(unsynced, t.String())
				}
			}
		}
		syncCancel()
		if len(unsynced) > 0 {
			// Stopped before the caches synced is no failure; anything else is the syncer's own.
			if ctx.Err() == nil {
				sort.Strings(unsynced)
				s.errc <- fmt.Errorf("syncer: informers of %s did not sync within %s: check the host Role's verbs and that both API servers answer",
					strings.Join(unsynced, ", "), cacheSyncTimeout)
			}
			return
		}
		if sharedInf != nil {
			go shared.run(ctx)
		}
		close(s.ready)
		log.Info("syncer running", "hostNamespace", cfg.HostNamespace)
		go nodes.gc(ctx)
		hostEventInformers.WaitForCacheSync(ctx.Done())
		go hostEvents.run(ctx)
		if rn != nil {
			// Synced before any controller runs: node addresses decide endpoints.
			nodeInf.Start(ctx.Done())
			nodeInf.WaitForCacheSync(ctx.Done())
			go rn.run(ctx)
		}
		if repl != nil {
			go repl.run(ctx)
		}
		for resource, c := range controllers {
			go c.run(ctx, cfg.workers(resource))
		}
		<-ctx.Done()
	}()
	return s, nil
}

// workers per controller.
func (cfg *Config) workers(resource string) int {
	if resource == "pods" {
		return max(cfg.PodWorkers, 1)
	}
	return max(cfg.OtherWorkers, 1)
}

// protobuf makes typed clients speak protobuf: cheaper than JSON for both API servers and
// vkube, under every watch event. (Dynamic clients stay on JSON, which unstructured needs.)
func protobuf(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.ContentType = runtime.ContentTypeProtobuf
	c.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	return c
}

// Ready is closed once every informer has synced and the controllers run.
func (s *Syncer) Ready() <-chan struct{} { return s.ready }

// Err delivers the failure that keeps the syncer from ever being ready: informers that did not
// sync in time.
func (s *Syncer) Err() <-chan error { return s.errc }

// Stop stops the controllers.
func (s *Syncer) Stop(ctx context.Context) error {
	s.cancel()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kindOf names the Kind of a synced resource, as events name their involved objects.
func kindOf(resource string) string {
	return map[string]string{"pods": "Pod", "services": "Service", "configmaps": "ConfigMap", "secrets": "Secret",
		"persistentvolumeclaims": "PersistentVolumeClaim", "ingresses": "Ingress", "poddisruptionbudgets": "PodDisruptionBudget",
		"networkpolicies": "NetworkPolicy", "endpointslices": "EndpointSlice", "priorityclasses": "PriorityClass",
		"storageclasses": "StorageClass", "persistentvolumes": "PersistentVolume"}[resource]
}
