// Package config holds the vkube.yaml schema: one document that configures both `vkube start`
// (the supervisor) and the Helm chart, shaped like vcluster's vcluster.yaml so that users coming
// from vcluster find the keys where they expect them.
package config

// Config is the whole vkube.yaml document.
type Config struct {
	// Name of the virtual cluster: a DNS-1123 label of at most 52 characters. Normally taken from
	// the command line (`vkube start --name`, `vkube create NAME`).
	Name string `json:"name,omitempty"`

	ControlPlane ControlPlane `json:"controlPlane,omitempty"`
	Networking   Networking   `json:"networking,omitempty"`
	Sync         Sync         `json:"sync,omitempty"`
	Policies     Policies     `json:"policies,omitempty"`
	Exporting    Exporting    `json:"exportKubeConfig,omitempty"`
}

// ControlPlane configures what runs the virtual cluster's API.
type ControlPlane struct {
	Distro       Distros      `json:"distro,omitempty"`
	BackingStore BackingStore `json:"backingStore,omitempty"`
	StatefulSet  StatefulSet  `json:"statefulSet,omitempty"`
	Service      Service      `json:"service,omitempty"`
	Ingress      Ingress      `json:"ingress,omitempty"`
	Proxy        Proxy        `json:"proxy,omitempty"`
	CoreDNS      CoreDNS      `json:"coredns,omitempty"`
	Advanced     Advanced     `json:"advanced,omitempty"`
}

// Distros holds one entry per distro; exactly one may be enabled (k8s when none is).
type Distros struct {
	K8s K8sDistro `json:"k8s,omitempty"`
	EKS K8sDistro `json:"eks,omitempty"`
	K3s K3sDistro `json:"k3s,omitempty"`
	K0s K0sDistro `json:"k0s,omitempty"`
}

// K8sDistro configures the k8s and eks distros: separate kube-* binaries as child processes.
type K8sDistro struct {
	Enabled bool `json:"enabled,omitempty"`
	// Version is the Kubernetes version of the binaries, e.g. v1.34.2.
	Version           string    `json:"version,omitempty"`
	APIServer         Component `json:"apiServer,omitempty"`
	ControllerManager Component `json:"controllerManager,omitempty"`
	Scheduler         Scheduler `json:"scheduler,omitempty"`
	// Env is added to every child's environment.
	Env []EnvVar `json:"env,omitempty"`
}

// K3sDistro configures the k3s distro: one `k3s server` child.
type K3sDistro struct {
	Enabled bool   `json:"enabled,omitempty"`
	Version string `json:"version,omitempty"`
	// Token is the k3s cluster token; generated and persisted when empty.
	Token     string `json:"token,omitempty"`
	Component `json:",inline"`
	Env       []EnvVar `json:"env,omitempty"`
}

// K0sDistro configures the k0s distro: one `k0s controller` child with a generated ClusterConfig.
type K0sDistro struct {
	Enabled   bool   `json:"enabled,omitempty"`
	Version   string `json:"version,omitempty"`
	Component `json:",inline"`
	// Config is merged over the generated k0s ClusterConfig spec (YAML).
	Config string   `json:"config,omitempty"`
	Env    []EnvVar `json:"env,omitempty"`
}

// Component is one launched binary: extra arguments appended to vkube's, or a full command that
// replaces vkube's command line altogether.
type Component struct {
	ExtraArgs []string `json:"extraArgs,omitempty"`
	Command   []string `json:"command,omitempty"`
}

// Scheduler is the optional virtual scheduler; off by default, the host scheduler places pods.
type Scheduler struct {
	Enabled   bool `json:"enabled,omitempty"`
	Component `json:",inline"`
}

// EnvVar is a plain environment variable for a child process.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// BackingStore picks the datastore; at most one of its entries may be enabled (embedded SQLite
// when none is).
type BackingStore struct {
	Database Database `json:"database,omitempty"`
	Etcd     Etcd     `json:"etcd,omitempty"`
}

// Database is SQLite (embedded) or MySQL/MariaDB/PostgreSQL (external), all served through kine.
type Database struct {
	Embedded EmbeddedDatabase `json:"embedded,omitempty"`
	External ExternalDatabase `json:"external,omitempty"`
}

// EmbeddedDatabase is kine + SQLite in the vkube process, the file on the data volume.
type EmbeddedDatabase struct {
	Enabled bool `json:"enabled,omitempty"`
}

// ExternalDatabase is a MySQL/MariaDB or PostgreSQL server reached through kine.
type ExternalDatabase struct {
	Enabled bool `json:"enabled,omitempty"`
	// DataSource is the DSN, mysql://user:pass@tcp(host:3306)/db or postgres://user:pass@host:5432/db?sslmode=…
	// A DSN naming no database makes vkube create a database of its own for this virtual cluster.
	DataSource string `json:"dataSource,omitempty"`
	// DataSourceFile is a file holding the DSN, so that passwords stay off command lines and config.
	DataSourceFile string `json:"dataSourceFile,omitempty"`
	TLSFiles       `json:",inline"`
}

// TLSFiles are optional client TLS files for a datastore.
type TLSFiles struct {
	CAFile   string `json:"caFile,omitempty"`
	CertFile string `json:"certFile,omitempty"`
	KeyFile  string `json:"keyFile,omitempty"`
}

// Etcd is an etcd datastore: embedded in vkube (members span the replicas) or an external cluster.
type Etcd struct {
	Embedded EmbeddedEtcd `json:"embedded,omitempty"`
	External ExternalEtcd `json:"external,omitempty"`
}

// EmbeddedEtcd runs go.etcd.io/etcd/server/v3/embed inside vkube.
type EmbeddedEtcd struct {
	Enabled bool `json:"enabled,omitempty"`
	// AcknowledgeDataLoss is the identity of a lost etcd cluster (as the EtcdClusterLost event and
	// `vkube list` name it) whose loss the operator accepts: the replicas then found a new, empty
	// cluster. Without it, replicas that all restarted without data stay down (HA only).
	AcknowledgeDataLoss string `json:"acknowledgeDataLoss,omitempty"`
	// ExtraArgs are accepted for compatibility with vcluster values; vkube does not pass them on.
	ExtraArgs []string `json:"extraArgs,omitempty"`
}

// ExternalEtcd is an etcd cluster vkube does not run.
type ExternalEtcd struct {
	Enabled bool `json:"enabled,omitempty"`
	// Endpoint is one or more comma-separated client URLs (https://etcd-0:2379,https://etcd-1:2379).
	Endpoint string   `json:"endpoint,omitempty"`
	TLS      TLSFiles `json:"tls,omitempty"`
}

// StatefulSet is how the chart runs vkube on the host.
type StatefulSet struct {
	HighAvailability  HighAvailability  `json:"highAvailability,omitempty"`
	Image             Image             `json:"image,omitempty"`
	ImagePullPolicy   string            `json:"imagePullPolicy,omitempty"`
	Resources         map[string]any    `json:"resources,omitempty"`
	Persistence       Persistence       `json:"persistence,omitempty"`
	Security          Security          `json:"security,omitempty"`
	Env               []EnvVar          `json:"env,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	PodLabels         map[string]string `json:"podLabels,omitempty"`
	PodAnnotations    map[string]string `json:"podAnnotations,omitempty"`
	NodeSelector      map[string]string `json:"nodeSelector,omitempty"`
	Tolerations       []map[string]any  `json:"tolerations,omitempty"`
	Affinity          map[string]any    `json:"affinity,omitempty"`
	ExtraVolumes      []map[string]any  `json:"extraVolumes,omitempty"`
	ExtraVolumeMounts []map[string]any  `json:"extraVolumeMounts,omitempty"`
}

// HighAvailability sets the number of control-plane replicas and the syncer's Lease timing.
type HighAvailability struct {
	Replicas      int `json:"replicas,omitempty"`
	LeaseDuration int `json:"leaseDuration,omitempty"`
	RenewDeadline int `json:"renewDeadline,omitempty"`
	RetryPeriod   int `json:"retryPeriod,omitempty"`
}

// Image is the vkube image the chart runs.
type Image struct {
	Registry   string `json:"registry,omitempty"`
	Repository string `json:"repository,omitempty"`
	Tag        string `json:"tag,omitempty"`
}

// Persistence is the data volume of the StatefulSet.
type Persistence struct {
	VolumeClaim VolumeClaim `json:"volumeClaim,omitempty"`
}

// VolumeClaim configures the data PVC; disabled means an emptyDir.
type VolumeClaim struct {
	// Enabled is a pointer so that "auto" (on for embedded stores) can be told from an explicit false.
	Enabled         *bool    `json:"enabled,omitempty"`
	Size            string   `json:"size,omitempty"`
	StorageClass    string   `json:"storageClass,omitempty"`
	AccessModes     []string `json:"accessModes,omitempty"`
	RetentionPolicy string   `json:"retentionPolicy,omitempty"`
}

// Security holds the pod and container security contexts of the control-plane pod.
type Security struct {
	PodSecurityContext       map[string]any `json:"podSecurityContext,omitempty"`
	ContainerSecurityContext map[string]any `json:"containerSecurityContext,omitempty"`
}

// Service is the host Service in front of the virtual API.
type Service struct {
	// Type is ClusterIP (default), NodePort or LoadBalancer (what `--expose` sets).
	Type        string            `json:"type,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	NodePort    int               `json:"nodePort,omitempty"`
}

// Ingress exposes the virtual API through a host Ingress (TLS passthrough).
type Ingress struct {
	Enabled          bool              `json:"enabled,omitempty"`
	Host             string            `json:"host,omitempty"`
	IngressClassName string            `json:"ingressClassName,omitempty"`
	Annotations      map[string]string `json:"annotations,omitempty"`
}

// Proxy configures the virtual API endpoint vkube serves.
type Proxy struct {
	// ExtraSANs are added to the API serving certificate (what `--tls-san` sets).
	ExtraSANs []string `json:"extraSANs,omitempty"`
}

// Advanced holds settings few users change.
type Advanced struct {
	// ClusterDomain is the virtual cluster's DNS domain.
	ClusterDomain string `json:"clusterDomain,omitempty"`
	// ServiceCIDR is the virtual apiserver's service range; detected from the host when empty,
	// DefaultServiceCIDR when standalone.
	ServiceCIDR string `json:"serviceCIDR,omitempty"`
	// DataDir is where state lives when running in a pod (the data volume).
	DataDir string `json:"dataDir,omitempty"`
	// VirtualScheduler runs a scheduler inside the virtual cluster, whatever the distro (legacy
	// `sync.nodes.enableScheduler`); for k8s and eks, distro.<name>.scheduler.enabled does too.
	VirtualScheduler Toggle `json:"virtualScheduler,omitempty"`
	// PageOutStartupCode gives back, a minute after each control-plane process starts, the pages
	// of its executable it touched only while starting (on by default; Linux 5.10 or later, and
	// CAP_SYS_NICE for the children).
	PageOutStartupCode Toggle `json:"pageOutStartupCode,omitempty"`
}

// CoreDNS is the virtual cluster's DNS server, a Deployment inside the virtual cluster.
type CoreDNS struct {
	Deployment CoreDNSDeployment `json:"deployment,omitempty"`
}

// CoreDNSDeployment sizes the virtual CoreDNS Deployment (legacy `coredns.replicas`, `coredns.image`).
type CoreDNSDeployment struct {
	Replicas int `json:"replicas,omitempty"`
	// Image overrides vkube's CoreDNS image.
	Image string `json:"image,omitempty"`
}

// Networking configures service mapping across the host/virtual boundary.
type Networking struct {
	ReplicateServices ReplicateServices `json:"replicateServices,omitempty"`
}

// ReplicateServices maps services across the boundary (legacy `mapServices`).
type ReplicateServices struct {
	FromHost []ServiceMapping `json:"fromHost,omitempty"`
	ToHost   []ServiceMapping `json:"toHost,omitempty"`
}

// ServiceMapping maps namespace/name `from` to namespace/name `to`.
type ServiceMapping struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Sync selects what the syncer copies.
type Sync struct {
	ToHost   SyncToHost   `json:"toHost,omitempty"`
	FromHost SyncFromHost `json:"fromHost,omitempty"`
	// Workers are the reconciles the syncer runs at once per kind.
	Workers SyncWorkers `json:"workers,omitempty"`
}

// SyncWorkers: a reconcile mostly waits on a host round trip, so workers, not CPU, bound how fast
// a burst reaches the host; an idle worker costs a parked goroutine.
type SyncWorkers struct {
	Pods   int `json:"pods,omitempty"`
	Others int `json:"others,omitempty"`
}

// SyncToHost lists the virtual→host kinds; pods, services, endpoints, configmaps, secrets and
// PVCs are on by default, the rest off.
type SyncToHost struct {
	Pods                   PodSync `json:"pods,omitempty"`
	Services               Toggle  `json:"services,omitempty"`
	Endpoints              Toggle  `json:"endpoints,omitempty"`
	ConfigMaps             Toggle  `json:"configMaps,omitempty"`
	Secrets                Toggle  `json:"secrets,omitempty"`
	PersistentVolumeClaims Toggle  `json:"persistentVolumeClaims,omitempty"`
	Ingresses              Toggle  `json:"ingresses,omitempty"`
	NetworkPolicies        Toggle  `json:"networkPolicies,omitempty"`
	PriorityClasses        Toggle  `json:"priorityClasses,omitempty"`
	StorageClasses         Toggle  `json:"storageClasses,omitempty"`
	PersistentVolumes      Toggle  `json:"persistentVolumes,omitempty"`
	PodDisruptionBudgets   Toggle  `json:"podDisruptionBudgets,omitempty"`
	// PodRewriteImages maps virtual image names to host ones.
	PodRewriteImages map[string]string `json:"podRewriteImages,omitempty"`
	// RewriteHostsImage is the vkube image of the init container vkube adds to synced pods with a
	// subdomain, which writes their /etc/hosts with virtual names (a mirror in a private registry,
	// say); the chart defaults it to its own image, and unset there is no helper.
	RewriteHostsImage string `json:"rewriteHostsImage,omitempty"`
}

// PodSync switches pod sync and says how synced pods get their virtual ServiceAccount token.
type PodSync struct {
	Toggle `json:",inline"`
	// UseSecretsForSATokens keeps each pod's token in a host Secret instead of the host pod's
	// annotations: one more host write per pod, but host users who may read pods and not
	// Secrets cannot read virtual tokens (vcluster's option of the same name).
	UseSecretsForSATokens bool `json:"useSecretsForSATokens,omitempty"`
}

// SyncFromHost lists the host→virtual kinds.
type SyncFromHost struct {
	Nodes          NodeSync `json:"nodes,omitempty"`
	StorageClasses Toggle   `json:"storageClasses,omitempty"`
	Events         Toggle   `json:"events,omitempty"`
}

// NodeSync: fake nodes by default; real nodes (all, or by selector) when enabled.
type NodeSync struct {
	Enabled  bool              `json:"enabled,omitempty"`
	SyncAll  bool              `json:"syncAll,omitempty"`
	Selector map[string]string `json:"selector,omitempty"`
}

// Toggle switches one synced kind. Enabled is a pointer so that an unset value keeps the default.
type Toggle struct {
	Enabled *bool `json:"enabled,omitempty"`
}

// Policies are the isolation objects (legacy `isolation.*`).
type Policies struct {
	// PodSecurityStandard enforced on virtual namespaces: privileged, baseline or restricted.
	PodSecurityStandard string        `json:"podSecurityStandard,omitempty"`
	ResourceQuota       ResourceQuota `json:"resourceQuota,omitempty"`
	LimitRange          LimitRange    `json:"limitRange,omitempty"`
	NetworkPolicy       NetworkPolicy `json:"networkPolicy,omitempty"`
	// HostAccess is what the host admin lets tenants' objects do on the host. Tenants cannot
	// change it: it lives in vkube's own config, never in the virtual cluster.
	HostAccess HostAccess `json:"hostAccess,omitempty"`
}

// HostAccess widens, field by field, what a tenant's synced objects may do on the host. The
// defaults keep every tenant inside its host namespace.
type HostAccess struct {
	// PodSecurityStandard is the level a synced pod must meet before its host twin is created
	// (baseline by default; privileged turns the check off). The host namespace carries the
	// matching pod-security.kubernetes.io/enforce label.
	PodSecurityStandard string `json:"podSecurityStandard,omitempty"`
	// ExternalIPCIDRs are the addresses a tenant Service may claim as spec.externalIPs or
	// spec.loadBalancerIP; none by default.
	ExternalIPCIDRs []string `json:"externalIPCIDRs,omitempty"`
	// EndpointCIDRs are the addresses selectorless endpoints may point at besides the virtual
	// cluster's own pods and public addresses.
	EndpointCIDRs []string `json:"endpointCIDRs,omitempty"`
	// MaxPriorityClassValue is the highest value a synced PriorityClass keeps (higher ones are
	// clamped to it): 0 by default, so no tenant's pods outrank another's default-priority pods.
	MaxPriorityClassValue *int32 `json:"maxPriorityClassValue,omitempty"`
	// HostPathVolumes lets synced PersistentVolumes keep hostPath and local sources.
	HostPathVolumes bool `json:"hostPathVolumes,omitempty"`
	// APIRequests bounds the syncer's requests to the host API server, so that one tenant's
	// burst cannot take a host serving many tenants.
	APIRequests APIRequests `json:"apiRequests,omitempty"`
}

// APIRequests is a client-side token bucket: QPS requests per second on average, Burst at once.
type APIRequests struct {
	QPS   int `json:"qps,omitempty"`
	Burst int `json:"burst,omitempty"`
}

// ResourceQuota is the host ResourceQuota of the virtual cluster's namespace.
type ResourceQuota struct {
	Enabled bool              `json:"enabled,omitempty"`
	Quota   map[string]string `json:"quota,omitempty"`
}

// LimitRange is the host LimitRange of the virtual cluster's namespace.
type LimitRange struct {
	Enabled        bool              `json:"enabled,omitempty"`
	Default        map[string]string `json:"default,omitempty"`
	DefaultRequest map[string]string `json:"defaultRequest,omitempty"`
}

// NetworkPolicy is the host NetworkPolicies isolating the virtual cluster's workloads.
type NetworkPolicy struct {
	Enabled bool `json:"enabled,omitempty"`
	// OutgoingConnections is the ipBlock workloads may reach (the seeds' 0.0.0.0/0 minus private ranges).
	OutgoingConnections IPBlock `json:"outgoingConnections,omitempty"`
}

// IPBlock mirrors networking.k8s.io IPBlock.
type IPBlock struct {
	CIDR   string   `json:"cidr,omitempty"`
	Except []string `json:"except,omitempty"`
}

// Exporting configures the published admin kubeconfig.
type Exporting struct {
	// Server overrides the server URL written into the kubeconfig.
	Server string `json:"server,omitempty"`
	// Context is the kubeconfig context name.
	Context string `json:"context,omitempty"`
}
