// Package names is every name and label vkube gives the objects it keeps on the host, and the
// marker of what its syncer made there: one leaf package, so that the code that makes these
// objects, the code that finds them (create, list, delete, completion) and the reserved prefix
// the syncer strips from tenants' labels all agree.
package names

// Labels. Every key is under vkube.io/, which the syncer strips from what tenants write, so no
// tenant object on the host carries one.
const (
	// LabelCluster (value: the virtual cluster's name) marks the virtual cluster's own host
	// objects: the chart's, the PKI and kubeconfig Secrets, the etcd record.
	LabelCluster = "vkube.io/cluster"
	// LabelControlPlane (value: the name) marks the control-plane pods; every Service and
	// NetworkPolicy of vkube's that means those pods selects on it.
	LabelControlPlane = "vkube.io/control-plane"
	// LabelSynced (value: the name) marks the host twins the syncer made.
	LabelSynced = "vkube.io/managed-by"
	// LabelHostNamespace marks cluster-scoped twins with their virtual cluster's host namespace.
	LabelHostNamespace = "vkube.io/host-namespace"
)

// KubeconfigSecret holds the admin kubeconfig of virtual cluster vc.
func KubeconfigSecret(vc string) string { return "vc-" + vc }

// ConfigSecret holds vc's values (the chart's vkube.yaml, DSNs included).
func ConfigSecret(vc string) string { return "vc-config-" + vc }

// PKISecret holds vc's PKI, shared by every replica.
func PKISecret(vc string) string { return vc + "-certs" }

// DNSService fronts the DNS server every replica runs for synced pods.
func DNSService(vc string) string { return vc + "-dns" }

// HeadlessService gives the replicas their stable names (etcd peers).
func HeadlessService(vc string) string { return vc + "-headless" }

// KubeletService fronts every replica's kubelet endpoint: the fake nodes' address.
func KubeletService(vc string) string { return vc + "-kubelet" }

// EtcdRecord records the identity of vc's embedded etcd cluster.
func EtcdRecord(vc string) string { return vc + "-etcd-cluster" }
