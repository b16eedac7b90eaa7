package config

import (
	"strings"
	"testing"
)

func TestValidateRules(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *Config)
		want   []string // substrings of one error: the field path first, then the fix
	}{
		{"name not a label", func(c *Config) { c.Name = "My_Cluster" }, []string{`name: Invalid value: "My_Cluster"`, "DNS-1123 label"}},
		{"name too long", func(c *Config) { c.Name = strings.Repeat("a", 53) }, []string{"name: Invalid value:", "at most 52", "controller-revision-hash", "63", "shorter name"}},
		{"two distros", func(c *Config) { c.ControlPlane.Distro.K3s.Enabled = true }, []string{
			"controlPlane.distro: Forbidden:", "controlPlane.distro.k8s.enabled", "controlPlane.distro.k3s.enabled", "enable exactly one distro"}},
		{"two backing stores", func(c *Config) {
			bs := &c.ControlPlane.BackingStore
			bs.Database.Embedded.Enabled = false
			bs.Database.External = ExternalDatabase{Enabled: true, DataSource: "mysql://u:p@tcp(db:3306)/vk"}
			bs.Etcd.Embedded.Enabled = true
		}, []string{"controlPlane.backingStore: Forbidden:", "controlPlane.backingStore.database.external.enabled", "controlPlane.backingStore.etcd.embedded.enabled", "exactly one backing store"}},
		{"external db without DSN", func(c *Config) { external(c, "") }, []string{
			"controlPlane.backingStore.database.external.dataSource: Required value:", "dataSourceFile"}},
		{"external db with both DSN sources", func(c *Config) {
			external(c, "postgres://u:p@db:5432/vk")
			c.ControlPlane.BackingStore.Database.External.DataSourceFile = "/secrets/dsn"
		}, []string{"controlPlane.backingStore.database.external.dataSource: Forbidden:", "controlPlane.backingStore.database.external.dataSourceFile", "keep only one"}},
		{"DSN without enabling", func(c *Config) { c.ControlPlane.BackingStore.Database.External.DataSource = "postgres://db/vk" }, []string{
			"controlPlane.backingStore.database.external.enabled: Forbidden:", "enabled: true"}},
		{"DSN without scheme", func(c *Config) { external(c, "root:hunter2@tcp(db:3306)/vk") }, []string{
			"controlPlane.backingStore.database.external.dataSource: Invalid value", "has no scheme", "mysql://"}},
		{"DSN with unknown scheme", func(c *Config) { external(c, "oracle://root:hunter2@db/vk") }, []string{
			"controlPlane.backingStore.database.external.dataSource: Invalid value", `unknown scheme "oracle"`, "postgres://"}},
		{"sqlite DSN", func(c *Config) { external(c, "sqlite:///data/db") }, []string{
			"controlPlane.backingStore.database.external.dataSource", "database.embedded"}},
		{"mysql DSN without host", func(c *Config) { external(c, "mysql://root:hunter2@/vk") }, []string{
			"controlPlane.backingStore.database.external.dataSource: Invalid value", "no server host", "tcp(HOST:PORT)"}},
		{"mysql DSN with empty tcp()", func(c *Config) { external(c, "mysql://root:hunter2@tcp(:3306)/vk") }, []string{
			"controlPlane.backingStore.database.external.dataSource", "no server host"}},
		{"mysql DSN in URL form", func(c *Config) { external(c, "mysql://root:hunter2@db:3306/vk") }, []string{
			"controlPlane.backingStore.database.external.dataSource", "without tcp(...)"}},
		{"postgres DSN without host", func(c *Config) { external(c, "postgres://root:hunter2@/vk") }, []string{
			"controlPlane.backingStore.database.external.dataSource: Invalid value", "no server host"}},
		{"external etcd without endpoint", func(c *Config) { etcd(c, "") }, []string{
			"controlPlane.backingStore.etcd.external.endpoint: Required value:", "https://"}},
		{"external etcd with a non-http endpoint", func(c *Config) { etcd(c, "https://etcd-0:2379,etcd-1:2379") }, []string{
			"controlPlane.backingStore.etcd.external.endpoint: Invalid value: \"etcd-1:2379\"", "http:// or https://"}},
		{"external etcd with a password", func(c *Config) { etcd(c, "https://etcd-0:2379,https://root:hunter2@etcd-1:2379") }, []string{
			"controlPlane.backingStore.etcd.external.endpoint: Invalid value: \"https://root:REDACTED@etcd-1:2379\"", "cannot log in to etcd", "controlPlane.backingStore.etcd.external.tls"}},
		{"sqlite with replicas", func(c *Config) { c.ControlPlane.StatefulSet.HighAvailability.Replicas = 3 }, []string{
			"controlPlane.statefulSet.highAvailability.replicas: Forbidden:", "SQLite", "embedded etcd", "external database"}},
		{"explicit sqlite with replicas", func(c *Config) {
			c.ControlPlane.BackingStore.Database.Embedded.Enabled = true
			c.ControlPlane.StatefulSet.HighAvailability.Replicas = 2
		}, []string{"controlPlane.statefulSet.highAvailability.replicas: Forbidden:", "controlPlane.backingStore.etcd.embedded"}},
		{"negative replicas", func(c *Config) { c.ControlPlane.StatefulSet.HighAvailability.Replicas = -1 }, []string{
			"controlPlane.statefulSet.highAvailability.replicas: Invalid value: -1", "at least 1"}},
		{"HA with k3s", func(c *Config) {
			_ = c.SetDistro(DistroK3s)
			c.ControlPlane.BackingStore.Etcd.Embedded.Enabled = true
			c.ControlPlane.StatefulSet.HighAvailability.Replicas = 3
		}, []string{"controlPlane.statefulSet.highAvailability.replicas: Forbidden:", "k3s", "k8s and eks distros only"}},
		{"HA with k0s", func(c *Config) {
			_ = c.SetDistro(DistroK0s)
			c.ControlPlane.BackingStore.Etcd.Embedded.Enabled = true
			c.ControlPlane.StatefulSet.HighAvailability.Replicas = 3
		}, []string{"controlPlane.statefulSet.highAvailability.replicas: Forbidden:", "k0s"}},
		{"k8s version", func(c *Config) { c.ControlPlane.Distro.K8s.Version = "1.30.4" }, []string{
			`controlPlane.distro.k8s.version: Invalid value: "1.30.4"`, "v1.34.2"}},
		{"k8s version with k3s suffix", func(c *Config) { c.ControlPlane.Distro.K8s.Version = "v1.30.4+k3s1" }, []string{
			"controlPlane.distro.k8s.version: Invalid value"}},
		{"k3s version", func(c *Config) { _ = c.SetDistro(DistroK3s); c.ControlPlane.Distro.K3s.Version = "v1.30" }, []string{
			`controlPlane.distro.k3s.version: Invalid value: "v1.30"`, "v1.34.2+k3s1"}},
		{"serviceCIDR", func(c *Config) { c.ControlPlane.Advanced.ServiceCIDR = "10.96.0.0" }, []string{
			`controlPlane.advanced.serviceCIDR: Invalid value: "10.96.0.0"`, "10.96.0.0/12"}},
		{"pod security standard", func(c *Config) { c.Policies.PodSecurityStandard = "strict" }, []string{
			`policies.podSecurityStandard: Unsupported value: "strict"`, `"restricted"`}},
		{"lease timing", func(c *Config) { c.ControlPlane.StatefulSet.HighAvailability.RenewDeadline = 90 }, []string{
			"controlPlane.statefulSet.highAvailability.renewDeadline: Invalid value: 90", "shorter than leaseDuration"}},
		{"ingress without host", func(c *Config) { c.ControlPlane.Ingress.Enabled = true }, []string{
			"controlPlane.ingress.host: Required value"}},
		{"bad SAN", func(c *Config) { c.ControlPlane.Proxy.ExtraSANs = []string{"ok.example.com", "not a name"} }, []string{
			`controlPlane.proxy.extraSANs[1]: Invalid value: "not a name"`}},
		{"kubeconfig server", func(c *Config) { c.Exporting.Server = "vkube.example.com" }, []string{
			"exportKubeConfig.server: Invalid value", "https://"}},
		{"service mapping", func(c *Config) {
			c.Networking.ReplicateServices.FromHost = []ServiceMapping{{From: "nettool-host", To: "default/nettool-host"}}
		}, []string{`networking.replicateServices.fromHost[0].from: Invalid value: "nettool-host"`, "namespace/name"}},
		{"service type", func(c *Config) { c.ControlPlane.Service.Type = "External" }, []string{
			`controlPlane.service.type: Unsupported value: "External"`}},
		{"TLS pair", func(c *Config) {
			etcd(c, "https://etcd:2379")
			c.ControlPlane.BackingStore.Etcd.External.TLS.CertFile = "/tls/cert"
		}, []string{"controlPlane.backingStore.etcd.external.tls.keyFile: Required value"}},
		{"quota", func(c *Config) {
			c.Policies.ResourceQuota = ResourceQuota{Enabled: true, Quota: map[string]string{"pods": "twenty"}}
		}, []string{`policies.resourceQuota.quota[pods]: Invalid value: "twenty"`}},
		{"host API qps", func(c *Config) { c.Policies.HostAccess.APIRequests.QPS = -5 }, []string{
			"policies.hostAccess.apiRequests.qps: Invalid value: -5", "between 1 and 10000"}},
		{"host API burst below qps", func(c *Config) { c.Policies.HostAccess.APIRequests = APIRequests{QPS: 50, Burst: 10} }, []string{
			"policies.hostAccess.apiRequests.burst: Invalid value: 10", "at least qps (50)"}},
		{"sync workers", func(c *Config) { c.Sync.Workers.Pods = 5000 }, []string{
			"sync.workers.pods: Invalid value: 5000", "between 1 and 1000"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Name = "vc"
			tc.mutate(c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want an error with %q", tc.want)
			}
			if !anyErrorHas(err, tc.want) {
				t.Errorf("Validate() = %v\nwant one error containing all of %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the password leaked: %v", err)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	cases := map[string]func(c *Config){
		"defaults":      func(c *Config) {},
		"no name":       func(c *Config) { c.Name = "" },
		"52 characters": func(c *Config) { c.Name = strings.Repeat("a", 52) },
		"command and extraArgs": func(c *Config) {
			c.ControlPlane.Distro.K8s.APIServer = Component{Command: []string{"/bin/kube-apiserver", "--v=2"}, ExtraArgs: []string{"--v=4"}}
		},
		"k3s version": func(c *Config) { _ = c.SetDistro(DistroK3s); c.ControlPlane.Distro.K3s.Version = "v1.30.4+k3s1" },
		"k0s version": func(c *Config) { _ = c.SetDistro(DistroK0s); c.ControlPlane.Distro.K0s.Version = "v1.30.4+k0s.0" },
		"HA on embedded etcd": func(c *Config) {
			c.ControlPlane.BackingStore.Database.Embedded.Enabled = false
			c.ControlPlane.BackingStore.Etcd.Embedded.Enabled = true
			c.ControlPlane.StatefulSet.HighAvailability.Replicas = 3
		},
		"HA on mysql": func(c *Config) {
			external(c, "mysql://vk:pw@tcp(mysql.db.svc:3306)/")
			c.ControlPlane.StatefulSet.HighAvailability.Replicas = 3
		},
		"mariadb unix socket": func(c *Config) { external(c, "mariadb://vk:pw@unix(/run/mysqld.sock)/vk") },
		"postgres":            func(c *Config) { external(c, "postgresql://vk:pw@pg:5432/vk?sslmode=require") },
		"postgres socket":     func(c *Config) { external(c, "postgres:///vk?host=/run/postgresql") },
		"dsn file": func(c *Config) {
			c.ControlPlane.BackingStore.Database.Embedded.Enabled = false
			c.ControlPlane.BackingStore.Database.External = ExternalDatabase{Enabled: true, DataSourceFile: "/secrets/dsn"}
		},
		"external etcd":   func(c *Config) { etcd(c, "https://etcd-0:2379, https://etcd-1:2379") },
		"dual-stack CIDR": func(c *Config) { c.ControlPlane.Advanced.ServiceCIDR = "10.96.0.0/12,fd00::/108" },
		"restricted":      func(c *Config) { c.Policies.PodSecurityStandard = "restricted" },
		"isolation":       func(c *Config) { c.Policies.Isolate(); c.SetDefaults() },
		"wildcard SAN":    func(c *Config) { c.ControlPlane.Proxy.ExtraSANs = []string{"*.example.com", "10.0.0.1"} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := Default()
			c.Name = "vc"
			mutate(c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	for name, ok := range map[string]bool{
		"vc": true, "my-vcluster-1": true, strings.Repeat("x", 52): true,
		"": false, strings.Repeat("x", 53): false, "-a": false, "A": false, "a.b": false,
	} {
		err := ValidateName(name)
		if (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
	if err := ValidateName(strings.Repeat("x", 60)); err == nil || !strings.Contains(err.Error(), "controller-revision-hash") {
		t.Errorf("a long name's error should say why 52: %v", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Name = "Bad_Name"
	c.Policies.PodSecurityStandard = "x"
	c.ControlPlane.Advanced.ServiceCIDR = "y"
	err := c.Validate()
	for _, p := range []string{"name:", "policies.podSecurityStandard:", "controlPlane.advanced.serviceCIDR:"} {
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("Validate() = %v, want it to report %s", err, p)
		}
	}
}

func external(c *Config, dsn string) {
	bs := &c.ControlPlane.BackingStore
	bs.Database.Embedded.Enabled = false
	bs.Database.External = ExternalDatabase{Enabled: true, DataSource: dsn}
}

func etcd(c *Config, endpoint string) {
	bs := &c.ControlPlane.BackingStore
	bs.Database.Embedded.Enabled = false
	bs.Etcd.External = ExternalEtcd{Enabled: true, Endpoint: endpoint}
}

// anyErrorHas reports whether one of the aggregate's errors contains every part.
func anyErrorHas(err error, parts []string) bool {
	type aggregate interface{ Errors() []error }
	errs := []error{err}
	if a, ok := err.(aggregate); ok {
		errs = a.Errors()
	}
	for _, e := range errs {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(e.Error(), p)
		}
		if all {
			return true
		}
	}
	return false
}
