package config

import (
	"fmt"
	"os"
	"strings"
)

// DefaultKubernetesVersion is the Kubernetes version of the k8s and eks distros when none is set.
const DefaultKubernetesVersion = "v1.34.2"

// Default versions of the single-binary distros (their own release suffixes).
const (
	DefaultK3sVersion = DefaultKubernetesVersion + "+k3s1"
	DefaultK0sVersion = DefaultKubernetesVersion + "+k0s.0"
)

// Distro names, as DistroName returns them and `--distro` accepts them.
const (
	DistroK8s = "k8s"
	DistroEKS = "eks"
	DistroK3s = "k3s"
	DistroK0s = "k0s"
)

// DistroNames lists the distro names in the order they are looked at.
var DistroNames = []string{DistroK8s, DistroEKS, DistroK3s, DistroK0s}

// DefaultClusterDomain is the virtual cluster's DNS domain when none is set.
const DefaultClusterDomain = "cluster.local"

// DefaultServiceCIDR is the virtual cluster's service range when none is set and no host
// cluster's was detected (standalone).
const DefaultServiceCIDR = "10.96.0.0/12"

// Defaults of the syncer's leader election on a host Lease, in seconds: shorter than vcluster's
// 60/40/15 so that a killed holder is replaced within 15 s (lease + one retry).
const (
	DefaultLeaseDuration = 10
	DefaultRenewDeadline = 6
	DefaultRetryPeriod   = 2
)

// BackendKind names the datastore behind the virtual cluster's API server.
type BackendKind string

// The backends vkube runs; BackendUnknown is an external database whose DSN has no known scheme.
const (
	BackendSQLite       BackendKind = "sqlite"
	BackendMySQL        BackendKind = "mysql"
	BackendPostgres     BackendKind = "postgres"
	BackendEtcdEmbedded BackendKind = "etcd-embedded"
	BackendEtcdExternal BackendKind = "etcd-external"
	BackendUnknown      BackendKind = ""
)

// Default returns a Config with every default filled in.
func Default() *Config {
	c := &Config{}
	c.SetDefaults()
	return c
}

// SetDefaults fills every unset field with its default. Set fields are never changed, so it is
// safe to call more than once and after flags have been applied.
func (c *Config) SetDefaults() {
	cp := &c.ControlPlane
	d := &cp.Distro
	if !d.K8s.Enabled && !d.EKS.Enabled && !d.K3s.Enabled && !d.K0s.Enabled {
		d.K8s.Enabled = true
	}
	for _, v := range []struct {
		on      bool
		version *string
		def     string
	}{
		{d.K8s.Enabled, &d.K8s.Version, DefaultKubernetesVersion},
		{d.EKS.Enabled, &d.EKS.Version, DefaultKubernetesVersion},
		{d.K3s.Enabled, &d.K3s.Version, DefaultK3sVersion},
		{d.K0s.Enabled, &d.K0s.Version, DefaultK0sVersion},
	} {
		if v.on && *v.version == "" {
			*v.version = v.def
		}
	}

	bs := &cp.BackingStore
	if !bs.Database.Embedded.Enabled && !bs.Database.External.Enabled &&
		!bs.Etcd.Embedded.Enabled && !bs.Etcd.External.Enabled {
		bs.Database.Embedded.Enabled = true
	}

	ha := &cp.StatefulSet.HighAvailability
	setInt(&ha.Replicas, 1)
	setInt(&ha.LeaseDuration, DefaultLeaseDuration)
	setInt(&ha.RenewDeadline, DefaultRenewDeadline)
	setInt(&ha.RetryPeriod, DefaultRetryPeriod)
	setInt(&cp.CoreDNS.Deployment.Replicas, 1)

	if cp.Advanced.ClusterDomain == "" {
		cp.Advanced.ClusterDomain = DefaultClusterDomain
	}
	if cp.Service.Type == "" {
		cp.Service.Type = "ClusterIP"
	}
	// ServiceCIDR stays empty on purpose: the supervisor detects the host's.

	c.Sync.ToHost.setDefaults()
	setInt(&c.Sync.Workers.Pods, DefaultPodWorkers)
	setInt(&c.Sync.Workers.Others, DefaultOtherWorkers)
	fh := &c.Sync.FromHost
	fh.StorageClasses.setDefault(false)
	fh.Events.setDefault(true)

	c.Policies.setDefaults()
}

func (s *SyncToHost) setDefaults() {
	for _, t := range []*Toggle{&s.Pods.Toggle, &s.Services, &s.Endpoints, &s.ConfigMaps, &s.Secrets, &s.PersistentVolumeClaims} {
		t.setDefault(true)
	}
	for _, t := range []*Toggle{&s.Ingresses, &s.NetworkPolicies, &s.PriorityClasses, &s.StorageClasses, &s.PersistentVolumes, &s.PodDisruptionBudgets} {
		t.setDefault(false)
	}
}

// The isolation objects the legacy chart created by default; seeds 000 and 004 show them.
var (
	defaultQuota = map[string]string{
		"requests.cpu": "10", "requests.memory": "20Gi", "requests.storage": "100Gi",
		"requests.ephemeral-storage": "60Gi", "limits.cpu": "20", "limits.memory": "40Gi",
		"limits.ephemeral-storage": "160Gi", "services.nodeports": "0", "services.loadbalancers": "1",
		"count/endpoints": "40", "count/pods": "20", "count/services": "20", "count/secrets": "100",
		"count/configmaps": "100", "count/persistentvolumeclaims": "20",
	}
	defaultLimit        = map[string]string{"cpu": "1", "memory": "512Mi", "ephemeral-storage": "8Gi"}
	defaultLimitRequest = map[string]string{"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "3Gi"}
	defaultEgress       = IPBlock{CIDR: "0.0.0.0/0", Except: []string{
		"100.64.0.0/10", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	}}
)

// DefaultPodSecurityStandard is what isolation enforces when no standard is named.
const DefaultPodSecurityStandard = "baseline"

// Isolate turns on every isolation object (what `--isolate` and legacy `isolation.enabled` mean),
// keeping a Pod Security Standard that is already set.
func (p *Policies) Isolate() {
	if p.PodSecurityStandard == "" {
		p.PodSecurityStandard = DefaultPodSecurityStandard
	}
	p.ResourceQuota.Enabled = true
	p.LimitRange.Enabled = true
	p.NetworkPolicy.Enabled = true
}

// The host API request bucket per virtual cluster: a 100-pod burst fits in the burst, and the
// sustained rate stays above the 100 pods/s the sync figures ask for; 50 clusters at full rate
// at once are then the host's API Priority and Fairness to queue, not 50 × 300 requests/s.
const (
	DefaultHostAPIQPS   = 150
	DefaultHostAPIBurst = 300
)

// The syncer's workers per kind (48 pod workers synced a burst of 100 pods in about half the
// time of 16).
const (
	DefaultPodWorkers   = 48
	DefaultOtherWorkers = 16
)

// DefaultHostPodSecurityStandard is the level synced pods must meet when the host admin names none.
const DefaultHostPodSecurityStandard = "baseline"

func (p *Policies) setDefaults() {
	if p.HostAccess.PodSecurityStandard == "" {
		p.HostAccess.PodSecurityStandard = DefaultHostPodSecurityStandard
	}
	setInt(&p.HostAccess.APIRequests.QPS, DefaultHostAPIQPS)
	setInt(&p.HostAccess.APIRequests.Burst, max(DefaultHostAPIBurst, p.HostAccess.APIRequests.QPS))
	if p.HostAccess.MaxPriorityClassValue == nil {
		zero := int32(0)
		p.HostAccess.MaxPriorityClassValue = &zero
	}
	if p.ResourceQuota.Enabled && len(p.ResourceQuota.Quota) == 0 {
		p.ResourceQuota.Quota = copyStrings(defaultQuota)
	}
	if p.LimitRange.Enabled && len(p.LimitRange.Default) == 0 && len(p.LimitRange.DefaultRequest) == 0 {
		p.LimitRange.Default = copyStrings(defaultLimit)
		p.LimitRange.DefaultRequest = copyStrings(defaultLimitRequest)
	}
	if p.NetworkPolicy.Enabled && p.NetworkPolicy.OutgoingConnections.CIDR == "" {
		p.NetworkPolicy.OutgoingConnections = IPBlock{
			CIDR:   defaultEgress.CIDR,
			Except: append([]string(nil), defaultEgress.Except...),
		}
	}
}

// NewToggle returns a Toggle explicitly set to on.
func NewToggle(on bool) Toggle { return Toggle{Enabled: &on} }

// On reports whether the toggle is on, def when it was never set.
func (t Toggle) On(def bool) bool {
	if t.Enabled == nil {
		return def
	}
	return *t.Enabled
}

func (t *Toggle) setDefault(def bool) {
	if t.Enabled == nil {
		t.Enabled = &def
	}
}

// DistroName is the enabled distro: "k8s", "eks", "k3s" or "k0s" (k8s when none is enabled).
func (c *Config) DistroName() string {
	d := c.ControlPlane.Distro
	switch {
	case d.K8s.Enabled:
		return DistroK8s
	case d.EKS.Enabled:
		return DistroEKS
	case d.K3s.Enabled:
		return DistroK3s
	case d.K0s.Enabled:
		return DistroK0s
	}
	return DistroK8s
}

// SetDistro enables the named distro and disables the others (what `--distro` does).
func (c *Config) SetDistro(name string) error {
	d := &c.ControlPlane.Distro
	switch name {
	case DistroK8s, DistroEKS, DistroK3s, DistroK0s:
	default:
		return fmt.Errorf("unknown distro %q: use one of %s", name, strings.Join(DistroNames, ", "))
	}
	d.K8s.Enabled = name == DistroK8s
	d.EKS.Enabled = name == DistroEKS
	d.K3s.Enabled = name == DistroK3s
	d.K0s.Enabled = name == DistroK0s
	return nil
}

// KubernetesVersion is the version of the enabled distro, or that distro's default.
func (c *Config) KubernetesVersion() string {
	d := c.ControlPlane.Distro
	switch c.DistroName() {
	case DistroEKS:
		return orDefault(d.EKS.Version, DefaultKubernetesVersion)
	case DistroK3s:
		return orDefault(d.K3s.Version, DefaultK3sVersion)
	case DistroK0s:
		return orDefault(d.K0s.Version, DefaultK0sVersion)
	}
	return orDefault(d.K8s.Version, DefaultKubernetesVersion)
}

// SetKubernetesVersion sets the version of the enabled distro (what `--kubernetes-version` does).
func (c *Config) SetKubernetesVersion(v string) {
	d := &c.ControlPlane.Distro
	switch c.DistroName() {
	case DistroEKS:
		d.EKS.Version = v
	case DistroK3s:
		d.K3s.Version = v
	case DistroK0s:
		d.K0s.Version = v
	default:
		d.K8s.Version = v
	}
}

// BackendKind is the enabled datastore (SQLite when none is enabled). An external database's kind
// comes from its DSN's scheme; a DSN kept in dataSourceFile is read for it, and BackendUnknown is
// returned when it cannot be read or its scheme is not known.
func (c *Config) BackendKind() BackendKind {
	bs := c.ControlPlane.BackingStore
	switch {
	case bs.Database.External.Enabled:
		dsn, err := bs.Database.External.DSN()
		if err != nil {
			return BackendUnknown
		}
		return DSNKind(dsn)
	case bs.Etcd.Embedded.Enabled:
		return BackendEtcdEmbedded
	case bs.Etcd.External.Enabled:
		return BackendEtcdExternal
	}
	return BackendSQLite
}

// DSN is the external database's DSN: dataSource, or the trimmed content of dataSourceFile.
func (d ExternalDatabase) DSN() (string, error) {
	if d.DataSource != "" || d.DataSourceFile == "" {
		return d.DataSource, nil
	}
	b, err := os.ReadFile(d.DataSourceFile)
	if err != nil {
		// The error names the file only; its content is never part of a message.
		return "", fmt.Errorf("reading controlPlane.backingStore.database.external.dataSourceFile %q: %w", d.DataSourceFile, unwrapPathError(err))
	}
	return strings.TrimSpace(string(b)), nil
}

// ClusterDomain is the virtual cluster's DNS domain, DefaultClusterDomain when unset.
func (c *Config) ClusterDomain() string {
	return orDefault(c.ControlPlane.Advanced.ClusterDomain, DefaultClusterDomain)
}

// ServiceCIDR is the virtual cluster's service range: as set or detected from the host, else
// DefaultServiceCIDR.
func (c *Config) ServiceCIDR() string {
	return orDefault(c.ControlPlane.Advanced.ServiceCIDR, DefaultServiceCIDR)
}

// Replicas is the number of control-plane replicas (1 when unset).
func (c *Config) Replicas() int {
	if r := c.ControlPlane.StatefulSet.HighAvailability.Replicas; r != 0 {
		return r
	}
	return 1
}

// VirtualSchedulerEnabled reports whether a scheduler runs inside the virtual cluster.
func (c *Config) VirtualSchedulerEnabled() bool {
	d := c.ControlPlane.Distro
	switch c.DistroName() {
	case DistroK8s:
		return d.K8s.Scheduler.Enabled || c.ControlPlane.Advanced.VirtualScheduler.On(false)
	case DistroEKS:
		return d.EKS.Scheduler.Enabled || c.ControlPlane.Advanced.VirtualScheduler.On(false)
	}
	return c.ControlPlane.Advanced.VirtualScheduler.On(false)
}

// PersistenceEnabled reports whether the data volume is a PVC: as set, or on for the embedded
// datastores (SQLite, embedded etcd) that keep their state on it.
func (c *Config) PersistenceEnabled() bool {
	if e := c.ControlPlane.StatefulSet.Persistence.VolumeClaim.Enabled; e != nil {
		return *e
	}
	k := c.BackendKind()
	return k == BackendSQLite || k == BackendEtcdEmbedded
}

func setInt(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func copyStrings(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
