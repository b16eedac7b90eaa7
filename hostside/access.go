package hostside

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"vkube.io/vkube/config"
)

// Feature names what needs a host access rule: the vkube.yaml key that turns it on, or Always.
type Feature string

// The features that widen vkube's host access. Each is a vkube.yaml key (legacy values that
// convert to it count alike); the chart's templates/role.yaml and clusterrole.yaml test them.
const (
	Always               Feature = ""
	HighAvailability     Feature = "controlPlane.statefulSet.highAvailability.replicas>1"
	SyncIngresses        Feature = "sync.toHost.ingresses"
	SyncNetworkPolicies  Feature = "sync.toHost.networkPolicies"
	SyncPDBs             Feature = "sync.toHost.podDisruptionBudgets"
	SyncPriorityClasses  Feature = "sync.toHost.priorityClasses"
	SyncStorageClasses   Feature = "sync.toHost.storageClasses"
	SyncPVs              Feature = "sync.toHost.persistentVolumes"
	RealNodes            Feature = "sync.fromHost.nodes"
	HostStorageClasses   Feature = "sync.fromHost.storageClasses"
	IsolationQuota       Feature = "policies.resourceQuota"
	IsolationLimitRange  Feature = "policies.limitRange"
	IsolationNetworkPols Feature = "policies.networkPolicy"
)

// AccessRule is one RBAC rule of vkube's pod on the host, with the feature that needs it and the
// code that makes the calls. Cluster rules go to the ClusterRole, the others to the Role of the
// host namespace.
type AccessRule struct {
	Feature   Feature
	Cluster   bool
	Group     string
	Resources []string
	Verbs     []string
	// Why names the calls: a rule without a caller is a grant nobody needs.
	Why string
}

var (
	readWrite = []string{"get", "list", "watch", "create", "update", "delete"}
	watchOnly = []string{"list", "watch"}
)

// Access is every host call vkube's pod makes, as the rules that allow them. Nothing patches,
// deletes a collection, reads Endpoints or asks for ServiceAccount tokens on the host; the
// isolation objects are the installer's (the chart renders them), so the pod only reads them.
// A new host call needs its rule here, then in the chart (charts/access_test.go holds the two
// equal).
var Access = []AccessRule{
	{Always, false, "", []string{"pods"}, readWrite,
		"syncer pods controller (informer, create, update, get, delete) and pods.finalize (delete)"},
	{Always, false, "", []string{"pods/status", "pods/ephemeralcontainers", "pods/resize"}, []string{"update"},
		"syncer pods: pushGateConditions (readiness gate conditions the tenant sets) and updateSubresources (`kubectl debug`'s ephemeral containers, in-place resize)"},
	{Always, false, "", []string{"pods/log"}, []string{"get"},
		"kubeletproxy.Serve: containerLogs proxied to the twin's log"},
	{Always, false, "", []string{"pods/exec", "pods/attach", "pods/portforward"}, []string{"get", "create"},
		"kubeletproxy.Serve: exec, attach, run and portForward proxied as the virtual apiserver sends them (GET for websockets, POST for SPDY)"},
	{Always, false, "", []string{"services"}, readWrite,
		"syncer services controller, Service webhook (create, get), hostside.EnsureService (create, get, update), hostside.ServiceCIDR (dry-run create), supervisor.connectHost (list), replicator (get, create, update)"},
	{Always, false, "", []string{"configmaps", "secrets", "persistentvolumeclaims"}, readWrite,
		"syncer controllers of each kind; secrets also hostside.SecretStore and ApplySecret (PKI, kubeconfig) and syncer tokens (token Secrets)"},
	{Always, false, "", []string{"events"}, watchOnly,
		"syncer events: host events about twins copied to the virtual objects"},
	{Always, false, "discovery.k8s.io", []string{"endpointslices"}, readWrite,
		"syncer endpointslices controller, hostside.EnsureService (create, get, update), replicator (get, create, update), isolation (list)"},
	{Always, false, "apps", []string{"statefulsets"}, []string{"get"},
		"supervisor.leaveIfScaledDown: a replica leaving its etcd cluster reads the replica count (kept at one replica too: a scale-down renders the new Role while the leaving replicas still read)"},
	{HighAvailability, false, "coordination.k8s.io", []string{"leases"}, []string{"get", "create", "update"},
		"supervisor.syncWhileLeading: the syncer's leader election"},
	{HighAvailability, false, "", []string{"events"}, []string{"create"},
		"hostside.EtcdRecord.RecordLoss: the EtcdClusterLost Warning on the StatefulSet when every etcd member restarted empty"},
	{IsolationQuota, false, "", []string{"resourcequotas"}, []string{"get"},
		"supervisor isolate in a pod: checks the installer's ResourceQuota"},
	{IsolationLimitRange, false, "", []string{"limitranges"}, []string{"get"},
		"supervisor isolate in a pod: checks the installer's LimitRange"},
	{IsolationNetworkPols, false, "networking.k8s.io", []string{"networkpolicies"}, []string{"get"},
		"supervisor isolate in a pod: checks the installer's NetworkPolicies"},
	{SyncIngresses, false, "networking.k8s.io", []string{"ingresses"}, readWrite, "syncer ingresses controller"},
	{SyncNetworkPolicies, false, "networking.k8s.io", []string{"networkpolicies"}, readWrite, "syncer networkpolicies controller"},
	{SyncPDBs, false, "policy", []string{"poddisruptionbudgets"}, readWrite, "syncer poddisruptionbudgets controller"},
	{RealNodes, true, "", []string{"nodes"}, watchOnly, "syncer realNodes: the host nodes' informer"},
	{SyncPVs, true, "", []string{"persistentvolumes"}, readWrite,
		"syncer persistentvolumes controller and persistentVolumes.finalize (delete)"},
	{SyncStorageClasses, true, "storage.k8s.io", []string{"storageclasses"}, readWrite, "syncer storageclasses controller"},
	{HostStorageClasses, true, "storage.k8s.io", []string{"storageclasses"}, watchOnly,
		"syncer hostStorageClasses: the host classes' informer"},
	{SyncPriorityClasses, true, "scheduling.k8s.io", []string{"priorityclasses"}, readWrite, "syncer priorityclasses controller"},
}

// SourceNamespaceAccess is what vkube's pod does in each other namespace a mapServices.fromHost
// mapping reads a Service from: the chart gives it a Role there (templates/mapped-services.yaml)
// for those Services only (SourceRules), rather than a ClusterRole to read every namespace's.
var SourceNamespaceAccess = []AccessRule{
	{Always, false, "", []string{"services"}, watchOnly,
		"syncer replicator: an informer on each mapped host Service (a metadata.name field selector, which RBAC's resourceNames admit)"},
}

// SourceNamespace is a namespace other than the host namespace that mapServices.fromHost
// mappings read Services from, and the names of those Services.
type SourceNamespace struct {
	Namespace string
	Services  []string
}

// SourceNamespaces are c's source namespaces other than hostNS, in the order of the mappings,
// each Service named once.
func SourceNamespaces(c *config.Config, hostNS string) []SourceNamespace {
	var out []SourceNamespace
	for _, m := range c.Networking.ReplicateServices.FromHost {
		ns, name, ok := strings.Cut(m.From, "/")
		if !ok || ns == "" || ns == hostNS {
			continue
		}
		i := slices.IndexFunc(out, func(s SourceNamespace) bool { return s.Namespace == ns })
		if i < 0 {
			out = append(out, SourceNamespace{Namespace: ns})
			i = len(out) - 1
		}
		if !slices.Contains(out[i].Services, name) {
			out[i].Services = append(out[i].Services, name)
		}
	}
	return out
}

// SourceRules are the Role's rules in a source namespace: SourceNamespaceAccess on its Services.
func SourceRules(s SourceNamespace) []rbacv1.PolicyRule {
	rules, _ := Rules(map[Feature]bool{Always: true}, SourceNamespaceAccess)
	for i := range rules {
		rules[i].ResourceNames = append([]string(nil), s.Services...)
	}
	return rules
}

// Features are the features c turns on.
func Features(c *config.Config) map[Feature]bool {
	s, p := c.Sync, c.Policies
	return map[Feature]bool{
		Always:               true,
		HighAvailability:     c.Replicas() > 1,
		SyncIngresses:        s.ToHost.Ingresses.On(false),
		SyncNetworkPolicies:  s.ToHost.NetworkPolicies.On(false),
		SyncPDBs:             s.ToHost.PodDisruptionBudgets.On(false),
		SyncPriorityClasses:  s.ToHost.PriorityClasses.On(false),
		SyncStorageClasses:   s.ToHost.StorageClasses.On(false),
		SyncPVs:              s.ToHost.PersistentVolumes.On(false),
		RealNodes:            s.FromHost.Nodes.Enabled,
		HostStorageClasses:   s.FromHost.StorageClasses.On(false),
		IsolationQuota:       p.ResourceQuota.Enabled,
		IsolationLimitRange:  p.LimitRange.Enabled,
		IsolationNetworkPols: p.NetworkPolicy.Enabled,
	}
}

// Rules are the Role's and the ClusterRole's rules for the features on, in the table's order:
// Access's, or another table (SourceNamespaceAccess).
func Rules(on map[Feature]bool, table ...[]AccessRule) (namespaced, cluster []rbacv1.PolicyRule) {
	rules := Access
	if len(table) > 0 {
		rules = table[0]
	}
	for _, a := range rules {
		if !on[a.Feature] {
			continue
		}
		r := rbacv1.PolicyRule{APIGroups: []string{a.Group}, Resources: append([]string(nil), a.Resources...), Verbs: append([]string(nil), a.Verbs...)}
		if a.Cluster {
			cluster = append(cluster, r)
		} else {
			namespaced = append(namespaced, r)
		}
	}
	return namespaced, cluster
}
