package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestDefault(t *testing.T) {
	c := Default()
	want(t, "distro", c.DistroName(), DistroK8s)
	want(t, "k8s enabled", c.ControlPlane.Distro.K8s.Enabled, true)
	want(t, "version", c.KubernetesVersion(), "v1.34.2")
	want(t, "k8s version field", c.ControlPlane.Distro.K8s.Version, DefaultKubernetesVersion)
	want(t, "backend", c.BackendKind(), BackendSQLite)
	want(t, "sqlite enabled", c.ControlPlane.BackingStore.Database.Embedded.Enabled, true)
	want(t, "replicas", c.Replicas(), 1)
	want(t, "cluster domain", c.ControlPlane.Advanced.ClusterDomain, "cluster.local")
	want(t, "service CIDR (detected)", c.ControlPlane.Advanced.ServiceCIDR, "")
	want(t, "service CIDR standalone", c.ServiceCIDR(), "10.96.0.0/12")
	unset := &Config{}
	want(t, "cluster domain of an undefaulted config", unset.ClusterDomain(), "cluster.local")
	unset.ControlPlane.Advanced.ClusterDomain, unset.ControlPlane.Advanced.ServiceCIDR = "corp.example", "10.0.0.0/16"
	want(t, "cluster domain as set", unset.ClusterDomain(), "corp.example")
	want(t, "service CIDR as set", unset.ServiceCIDR(), "10.0.0.0/16")
	ha := c.ControlPlane.StatefulSet.HighAvailability
	want(t, "lease", []int{ha.Replicas, ha.LeaseDuration, ha.RenewDeadline, ha.RetryPeriod}, []int{1, 10, 6, 2})
	want(t, "persistence", c.PersistenceEnabled(), true)
	want(t, "scheduler", c.VirtualSchedulerEnabled(), false)

	to := c.Sync.ToHost
	for name, tg := range map[string]Toggle{"pods": to.Pods.Toggle, "services": to.Services, "endpoints": to.Endpoints,
		"configMaps": to.ConfigMaps, "secrets": to.Secrets, "persistentVolumeClaims": to.PersistentVolumeClaims} {
		if tg.Enabled == nil || !*tg.Enabled {
			t.Errorf("sync.toHost.%s should default to on", name)
		}
	}
	for name, tg := range map[string]Toggle{"ingresses": to.Ingresses, "networkPolicies": to.NetworkPolicies,
		"priorityClasses": to.PriorityClasses, "storageClasses": to.StorageClasses,
		"persistentVolumes": to.PersistentVolumes, "podDisruptionBudgets": to.PodDisruptionBudgets} {
		if tg.Enabled == nil || *tg.Enabled {
			t.Errorf("sync.toHost.%s should default to off", name)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func TestSetDefaultsKeepsWhatIsSet(t *testing.T) {
	off := false
	c := &Config{}
	c.ControlPlane.Distro.K3s.Enabled = true
	c.ControlPlane.BackingStore.Etcd.Embedded.Enabled = true
	c.ControlPlane.StatefulSet.HighAvailability.Replicas = 3
	c.ControlPlane.Advanced.ClusterDomain = "corp.local"
	c.Sync.ToHost.Pods.Toggle = Toggle{Enabled: &off}
	c.ControlPlane.StatefulSet.Persistence.VolumeClaim.Enabled = &off
	c.SetDefaults()
	c.SetDefaults()
	want(t, "distro", c.DistroName(), DistroK3s)
	want(t, "k8s stays off", c.ControlPlane.Distro.K8s.Enabled, false)
	want(t, "k3s version", c.KubernetesVersion(), DefaultK3sVersion)
	want(t, "backend", c.BackendKind(), BackendEtcdEmbedded)
	want(t, "sqlite stays off", c.ControlPlane.BackingStore.Database.Embedded.Enabled, false)
	want(t, "replicas", c.Replicas(), 3)
	want(t, "domain", c.ControlPlane.Advanced.ClusterDomain, "corp.local")
	want(t, "pods", c.Sync.ToHost.Pods.On(true), false)
	want(t, "persistence", c.PersistenceEnabled(), false)
}

func TestToggleOn(t *testing.T) {
	on, off := true, false
	want(t, "unset, default on", Toggle{}.On(true), true)
	want(t, "unset, default off", Toggle{}.On(false), false)
	want(t, "set on", Toggle{Enabled: &on}.On(false), true)
	want(t, "set off", Toggle{Enabled: &off}.On(true), false)
	want(t, "NewToggle", NewToggle(true).On(false), true)
}

func TestDistroHelpers(t *testing.T) {
	for _, tc := range []struct{ distro, version, wantVersion string }{
		{DistroK8s, "", "v1.34.2"},
		{DistroEKS, "", "v1.34.2"},
		{DistroK3s, "", "v1.34.2+k3s1"},
		{DistroK0s, "", "v1.34.2+k0s.0"},
		{DistroK3s, "v1.30.4+k3s1", "v1.30.4+k3s1"},
		{DistroEKS, "v1.31.0", "v1.31.0"},
	} {
		c := &Config{}
		if err := c.SetDistro(tc.distro); err != nil {
			t.Fatal(err)
		}
		if tc.version != "" {
			c.SetKubernetesVersion(tc.version)
		}
		want(t, "DistroName", c.DistroName(), tc.distro)
		want(t, tc.distro+" version", c.KubernetesVersion(), tc.wantVersion)
	}
	c := Default()
	if err := c.SetDistro("openshift"); err == nil {
		t.Error("SetDistro(openshift) should fail")
	}
	_ = c.SetDistro(DistroK0s)
	want(t, "SetDistro disables the rest", c.ControlPlane.Distro.K8s.Enabled, false)
}

func TestBackendKind(t *testing.T) {
	dir := t.TempDir()
	dsnFile := filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsnFile, []byte("postgresql://vk:pw@pg:5432/vk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		bs   BackingStore
		want BackendKind
	}{
		"none":            {BackingStore{}, BackendSQLite},
		"sqlite":          {BackingStore{Database: Database{Embedded: EmbeddedDatabase{Enabled: true}}}, BackendSQLite},
		"mysql":           {BackingStore{Database: Database{External: ExternalDatabase{Enabled: true, DataSource: "mysql://u:p@tcp(db:3306)/vk"}}}, BackendMySQL},
		"mariadb":         {BackingStore{Database: Database{External: ExternalDatabase{Enabled: true, DataSource: "mariadb://u:p@tcp(db:3306)/vk"}}}, BackendMySQL},
		"postgres":        {BackingStore{Database: Database{External: ExternalDatabase{Enabled: true, DataSource: "postgres://u:p@db/vk"}}}, BackendPostgres},
		"postgresql file": {BackingStore{Database: Database{External: ExternalDatabase{Enabled: true, DataSourceFile: dsnFile}}}, BackendPostgres},
		"missing file":    {BackingStore{Database: Database{External: ExternalDatabase{Enabled: true, DataSourceFile: filepath.Join(dir, "nope")}}}, BackendUnknown},
		"unknown scheme":  {BackingStore{Database: Database{External: ExternalDatabase{Enabled: true, DataSource: "oracle://db"}}}, BackendUnknown},
		"etcd embedded":   {BackingStore{Etcd: Etcd{Embedded: EmbeddedEtcd{Enabled: true}}}, BackendEtcdEmbedded},
		"etcd external":   {BackingStore{Etcd: Etcd{External: ExternalEtcd{Enabled: true, Endpoint: "https://etcd:2379"}}}, BackendEtcdExternal},
	} {
		c := &Config{}
		c.ControlPlane.BackingStore = tc.bs
		if got := c.BackendKind(); got != tc.want {
			t.Errorf("%s: BackendKind() = %q, want %q", name, got, tc.want)
		}
	}
}

func TestIsolationDefaults(t *testing.T) {
	c := &Config{}
	c.Policies.Isolate()
	c.SetDefaults()
	p := c.Policies
	want(t, "standard", p.PodSecurityStandard, "baseline")
	want(t, "quota", len(p.ResourceQuota.Quota), 15)
	want(t, "services.nodeports", p.ResourceQuota.Quota["services.nodeports"], "0")
	want(t, "limit", p.LimitRange.Default["ephemeral-storage"], "8Gi")
	want(t, "egress except", p.NetworkPolicy.OutgoingConnections.Except[0], "100.64.0.0/10")
	// Defaults are copies: changing one config must not change the next.
	p.ResourceQuota.Quota["count/pods"] = "1"
	c2 := &Config{}
	c2.Policies.Isolate()
	c2.SetDefaults()
	want(t, "fresh quota", c2.Policies.ResourceQuota.Quota["count/pods"], "20")
}

func want(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}
