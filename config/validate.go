package config

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MaxNameLength is the longest virtual cluster name: the StatefulSet's pods carry the label
// controller-revision-hash=<name>-<hash of up to 10 characters>, and a label value fits 63.
const MaxNameLength = 52

// PodSecurityStandards are the values policies.podSecurityStandard accepts.
var PodSecurityStandards = []string{"privileged", "baseline", "restricted"}

var (
	versionRE    = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)
	k3sVersionRE = regexp.MustCompile(`^v\d+\.\d+\.\d+(\+k3s\d+)?$`)
	k0sVersionRE = regexp.MustCompile(`^v\d+\.\d+\.\d+(\+k0s\.\d+)?$`)
)

// ValidateName checks a virtual cluster name: a DNS-1123 label of at most 52 characters.
func ValidateName(name string) error {
	if d := nameProblem(name); d != "" {
		return fmt.Errorf("invalid virtual cluster name %q: %s", name, d)
	}
	return nil
}

func nameProblem(name string) string {
	switch {
	case name == "":
		return "a name is required: use a DNS-1123 label such as my-vcluster"
	case len(name) > MaxNameLength:
		return fmt.Sprintf("it is %d characters long; at most %d are allowed because the StatefulSet's "+
			"controller-revision-hash label (<name>-<10-character hash>) must fit in 63 characters: choose a shorter name",
			len(name), MaxNameLength)
	case len(validation.IsDNS1123Label(name)) > 0:
		return "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. my-vcluster)"
	}
	return ""
}

// Validate checks the whole configuration and returns every problem at once, as a
// field.ErrorList aggregate; each error names the field path and what to change. An empty name
// is not an error here: callers set it from the command line first.
func (c *Config) Validate() error {
	var errs field.ErrorList
	if c.Name != "" {
		if d := nameProblem(c.Name); d != "" {
			errs = append(errs, field.Invalid(field.NewPath("name"), c.Name, d))
		}
	}
	cp := field.NewPath("controlPlane")
	errs = append(errs, c.validateDistro(cp.Child("distro"))...)
	errs = append(errs, c.validateBackingStore(cp.Child("backingStore"))...)
	errs = append(errs, c.validateStatefulSet(cp.Child("statefulSet"))...)
	errs = append(errs, c.validateExposure(cp)...)
	errs = append(errs, c.validateAdvanced(cp.Child("advanced"))...)
	if r := c.ControlPlane.CoreDNS.Deployment.Replicas; r < 0 {
		errs = append(errs, field.Invalid(cp.Child("coredns", "deployment", "replicas"), r, "must be at least 1 (or unset for 1)"))
	}
	errs = append(errs, c.validateNetworking(field.NewPath("networking", "replicateServices"))...)
	errs = append(errs, c.validatePolicies(field.NewPath("policies"))...)
	for _, w := range []struct {
		name string
		n    int
	}{{"pods", c.Sync.Workers.Pods}, {"others", c.Sync.Workers.Others}} {
		if w.n < 0 || w.n > 1000 {
			errs = append(errs, field.Invalid(field.NewPath("sync", "workers", w.name), w.n, "must be between 1 and 1000 (0: the default)"))
		}
	}
	return errs.ToAggregate()
}

func (c *Config) validateDistro(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	d := c.ControlPlane.Distro
	var enabled []string
	for _, e := range []struct {
		name string
		on   bool
	}{{DistroK8s, d.K8s.Enabled}, {DistroEKS, d.EKS.Enabled}, {DistroK3s, d.K3s.Enabled}, {DistroK0s, d.K0s.Enabled}} {
		if e.on {
			enabled = append(enabled, p.Child(e.name, "enabled").String())
		}
	}
	if len(enabled) > 1 {
		errs = append(errs, field.Forbidden(p, fmt.Sprintf("%s: enable exactly one distro and set the others to false (k8s is used when none is enabled)",
			allTrue(enabled))))
	}
	for _, v := range []struct {
		name, version, example string
		re                     *regexp.Regexp
	}{
		{DistroK8s, d.K8s.Version, "v1.34.2", versionRE},
		{DistroEKS, d.EKS.Version, "v1.34.2", versionRE},
		{DistroK3s, d.K3s.Version, "v1.34.2 or v1.34.2+k3s1", k3sVersionRE},
		{DistroK0s, d.K0s.Version, "v1.34.2 or v1.34.2+k0s.0", k0sVersionRE},
	} {
		if v.version != "" && !v.re.MatchString(v.version) {
			errs = append(errs, field.Invalid(p.Child(v.name, "version"), v.version,
				"must be a Kubernetes release like "+v.example+" (leading 'v', three numbers)"))
		}
	}
	return errs
}

func (c *Config) validateBackingStore(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	bs := c.ControlPlane.BackingStore
	dbP, etcdP := p.Child("database"), p.Child("etcd")
	var enabled []string
	for _, e := range []struct {
		p  *field.Path
		on bool
	}{
		{dbP.Child("embedded", "enabled"), bs.Database.Embedded.Enabled},
		{dbP.Child("external", "enabled"), bs.Database.External.Enabled},
		{etcdP.Child("embedded", "enabled"), bs.Etcd.Embedded.Enabled},
		{etcdP.Child("external", "enabled"), bs.Etcd.External.Enabled},
	} {
		if e.on {
			enabled = append(enabled, e.p.String())
		}
	}
	if len(enabled) > 1 {
		errs = append(errs, field.Forbidden(p, fmt.Sprintf("%s: enable exactly one backing store (embedded SQLite is used when none is)",
			allTrue(enabled))))
	}

	ext, extP := bs.Database.External, dbP.Child("external")
	dsP, fileP := extP.Child("dataSource"), extP.Child("dataSourceFile")
	switch {
	case ext.Enabled && ext.DataSource == "" && ext.DataSourceFile == "":
		errs = append(errs, field.Required(dsP, "the external database needs a DSN: set dataSource (e.g. "+dsnExamples+
			") or "+fileP.String()+" (a file holding the DSN, which keeps the password out of the config)"))
	case ext.DataSource != "" && ext.DataSourceFile != "":
		errs = append(errs, field.Forbidden(dsP, "both "+dsP.String()+" and "+fileP.String()+" are set: keep only one (dataSourceFile keeps the password out of the config)"))
	case !ext.Enabled && (ext.DataSource != "" || ext.DataSourceFile != ""):
		errs = append(errs, field.Forbidden(extP.Child("enabled"), "a DSN is set but the external database is not enabled: set "+extP.Child("enabled").String()+": true, or remove the DSN"))
	}
	if ext.DataSource != "" {
		if _, err := ParseDSN(ext.DataSource); err != nil {
			errs = append(errs, field.Invalid(dsP, dsnForMessage(ext.DataSource), err.Error()))
		}
	}
	errs = append(errs, validateTLSPair(extP, ext.TLSFiles)...)

	etcd, etcdExtP := bs.Etcd.External, etcdP.Child("external")
	epP := etcdExtP.Child("endpoint")
	switch {
	case etcd.Enabled && strings.TrimSpace(etcd.Endpoint) == "":
		errs = append(errs, field.Required(epP, "external etcd needs its client URL(s): set it to e.g. https://etcd-0.etcd:2379 (comma-separated for several)"))
	case !etcd.Enabled && etcd.Endpoint != "":
		errs = append(errs, field.Forbidden(etcdExtP.Child("enabled"), "an endpoint is set but external etcd is not enabled: set "+etcdExtP.Child("enabled").String()+": true, or remove the endpoint"))
	}
	if etcd.Endpoint != "" {
		for _, ep := range strings.Split(etcd.Endpoint, ",") {
			ep = strings.TrimSpace(ep)
			u, err := url.Parse(ep)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				errs = append(errs, field.Invalid(epP, RedactDSN(ep), "each endpoint must be an http:// or https:// URL with a host, e.g. https://etcd-0.etcd:2379"))
			} else if u.User != nil {
				// kube-apiserver has no etcd password flag: the user info would only end up on
				// its command line, for every local user to read.
				errs = append(errs, field.Invalid(epP, RedactDSN(ep), "kube-apiserver cannot log in to etcd with a user name or password: remove the user info and authenticate with a client certificate ("+etcdExtP.Child("tls").String()+")"))
			}
		}
	}
	errs = append(errs, validateTLSPair(etcdExtP.Child("tls"), etcd.TLS)...)
	return errs
}

// dsnForMessage is what an error may show of a DSN: redacted, and nothing at all when it has no
// scheme (then nothing tells where a password would be).
func dsnForMessage(dsn string) any {
	if _, _, ok := splitScheme(dsn); !ok {
		return field.OmitValueType{}
	}
	return RedactDSN(dsn)
}

func validateTLSPair(p *field.Path, t TLSFiles) field.ErrorList {
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		return field.ErrorList{field.Required(p.Child("keyFile"), "certFile is set: set keyFile to its private key")}
	case t.KeyFile != "" && t.CertFile == "":
		return field.ErrorList{field.Required(p.Child("certFile"), "keyFile is set: set certFile to its certificate")}
	}
	return nil
}

func (c *Config) validateStatefulSet(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	ha := c.ControlPlane.StatefulSet.HighAvailability
	haP := p.Child("highAvailability")
	rP := haP.Child("replicas")
	if ha.Replicas < 0 {
		errs = append(errs, field.Invalid(rP, ha.Replicas, "must be at least 1: use 1 for a single control plane, or 3 for high availability"))
	}
	if r := c.Replicas(); r > 1 {
		if d := c.DistroName(); d == DistroK3s || d == DistroK0s {
			errs = append(errs, field.Forbidden(rP, fmt.Sprintf("%d replicas with distro %s: high availability is for the k8s and eks distros only; "+
				"enable controlPlane.distro.k8s instead, or set replicas to 1", r, d)))
		}
		if c.BackendKind() == BackendSQLite {
			what := "embedded SQLite (controlPlane.backingStore.database.embedded)"
			if !c.ControlPlane.BackingStore.Database.Embedded.Enabled {
				what = "embedded SQLite (the default when no backing store is enabled)"
			}
			errs = append(errs, field.Forbidden(rP, fmt.Sprintf("%s lives on one replica's volume and cannot serve %d replicas: "+
				"use embedded etcd (controlPlane.backingStore.etcd.embedded.enabled: true) or an external database "+
				"(controlPlane.backingStore.database.external), or set replicas to 1", what, r)))
		}
	}
	lease := map[string]int{"leaseDuration": ha.LeaseDuration, "renewDeadline": ha.RenewDeadline, "retryPeriod": ha.RetryPeriod}
	for _, k := range []string{"leaseDuration", "renewDeadline", "retryPeriod"} {
		if lease[k] < 0 {
			errs = append(errs, field.Invalid(haP.Child(k), lease[k], "must be a positive number of seconds (or unset for the default)"))
		}
	}
	ld, rd, rp := orInt(ha.LeaseDuration, DefaultLeaseDuration), orInt(ha.RenewDeadline, DefaultRenewDeadline), orInt(ha.RetryPeriod, DefaultRetryPeriod)
	if ld > 0 && rd > 0 && rp > 0 {
		if ld <= rd {
			errs = append(errs, field.Invalid(haP.Child("renewDeadline"), rd, fmt.Sprintf("must be shorter than leaseDuration (%ds): lower it or raise leaseDuration", ld)))
		}
		// client-go's leader election requires renewDeadline > retryPeriod * JitterFactor (1.2).
		if float64(rd) <= 1.2*float64(rp) {
			errs = append(errs, field.Invalid(haP.Child("retryPeriod"), rp, fmt.Sprintf("must be under renewDeadline (%ds) / 1.2: lower it or raise renewDeadline", rd)))
		}
	}
	if s := c.ControlPlane.StatefulSet.Persistence.VolumeClaim.Size; s != "" {
		if _, err := resource.ParseQuantity(s); err != nil {
			errs = append(errs, field.Invalid(p.Child("persistence", "volumeClaim", "size"), s, "must be a quantity such as 5Gi"))
		}
	}
	return errs
}

func (c *Config) validateExposure(cp *field.Path) field.ErrorList {
	var errs field.ErrorList
	svc := c.ControlPlane.Service
	switch svc.Type {
	case "", "ClusterIP", "NodePort", "LoadBalancer":
	default:
		errs = append(errs, field.NotSupported(cp.Child("service", "type"), svc.Type, []string{"ClusterIP", "NodePort", "LoadBalancer"}))
	}
	if svc.NodePort < 0 || svc.NodePort > 65535 {
		errs = append(errs, field.Invalid(cp.Child("service", "nodePort"), svc.NodePort, "must be a port number (usually 30000-32767), or 0 to let the host pick"))
	}
	ing, ingP := c.ControlPlane.Ingress, cp.Child("ingress")
	if ing.Enabled && ing.Host == "" {
		errs = append(errs, field.Required(ingP.Child("host"), "the ingress needs the host name the virtual cluster's API is reached at, e.g. vkube.example.com"))
	}
	if ing.Host != "" && len(validation.IsDNS1123Subdomain(ing.Host)) > 0 && len(validation.IsWildcardDNS1123Subdomain(ing.Host)) > 0 {
		errs = append(errs, field.Invalid(ingP.Child("host"), ing.Host, "must be a DNS name such as vkube.example.com"))
	}
	for i, san := range c.ControlPlane.Proxy.ExtraSANs {
		if net.ParseIP(san) == nil && len(validation.IsDNS1123Subdomain(san)) > 0 && len(validation.IsWildcardDNS1123Subdomain(san)) > 0 {
			errs = append(errs, field.Invalid(cp.Child("proxy", "extraSANs").Index(i), san, "must be an IP address or a DNS name such as vkube.example.com (lowercase)"))
		}
	}
	if s := c.Exporting.Server; s != "" {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" {
			errs = append(errs, field.Invalid(field.NewPath("exportKubeConfig", "server"), RedactDSN(s), "must be an https:// URL with a host, e.g. https://vkube.example.com"))
		}
	}
	return errs
}

func (c *Config) validateAdvanced(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	a := c.ControlPlane.Advanced
	if a.ServiceCIDR != "" {
		cidrs := strings.Split(a.ServiceCIDR, ",")
		ok := len(cidrs) <= 2
		for _, s := range cidrs {
			if _, _, err := net.ParseCIDR(strings.TrimSpace(s)); err != nil {
				ok = false
			}
		}
		if !ok {
			errs = append(errs, field.Invalid(p.Child("serviceCIDR"), a.ServiceCIDR,
				"must be a CIDR such as "+DefaultServiceCIDR+" (two comma-separated for dual-stack), or empty to use the host's service CIDR"))
		}
	}
	if a.ClusterDomain != "" && len(validation.IsDNS1123Subdomain(a.ClusterDomain)) > 0 {
		errs = append(errs, field.Invalid(p.Child("clusterDomain"), a.ClusterDomain, "must be a DNS domain such as "+DefaultClusterDomain))
	}
	return errs
}

func (c *Config) validateNetworking(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	check := func(p *field.Path, v string, nsOptional bool) {
		parts := strings.Split(v, "/")
		ok := len(parts) == 2 || (nsOptional && len(parts) == 1)
		for _, part := range parts {
			ok = ok && len(validation.IsDNS1123Label(part)) == 0
		}
		if !ok {
			want := "namespace/name, e.g. default/my-service"
			if nsOptional {
				want = "name or namespace/name (a bare name is in the virtual cluster's host namespace)"
			}
			errs = append(errs, field.Invalid(p, v, "must be "+want))
		}
	}
	for i, m := range c.Networking.ReplicateServices.FromHost {
		check(p.Child("fromHost").Index(i).Child("from"), m.From, false)
		check(p.Child("fromHost").Index(i).Child("to"), m.To, false)
	}
	for i, m := range c.Networking.ReplicateServices.ToHost {
		check(p.Child("toHost").Index(i).Child("from"), m.From, false)
		check(p.Child("toHost").Index(i).Child("to"), m.To, true)
	}
	return errs
}

func (c *Config) validatePolicies(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	pol := c.Policies
	if s := pol.PodSecurityStandard; s != "" && !slices.Contains(PodSecurityStandards, s) {
		errs = append(errs, field.NotSupported(p.Child("podSecurityStandard"), s, PodSecurityStandards))
	}
	quantities := func(p *field.Path, m map[string]string) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if _, err := resource.ParseQuantity(m[k]); err != nil {
				errs = append(errs, field.Invalid(p.Key(k), m[k], "must be a quantity such as 10, 500m or 20Gi"))
			}
		}
	}
	quantities(p.Child("resourceQuota", "quota"), pol.ResourceQuota.Quota)
	quantities(p.Child("limitRange", "default"), pol.LimitRange.Default)
	quantities(p.Child("limitRange", "defaultRequest"), pol.LimitRange.DefaultRequest)
	ha, haP := pol.HostAccess, p.Child("hostAccess")
	if s := ha.PodSecurityStandard; s != "" && !slices.Contains(PodSecurityStandards, s) {
		errs = append(errs, field.NotSupported(haP.Child("podSecurityStandard"), s, PodSecurityStandards))
	}
	cidrs := func(p *field.Path, list []string) {
		for i, c := range list {
			if _, _, err := net.ParseCIDR(c); err != nil {
				errs = append(errs, field.Invalid(p.Index(i), c, "must be a CIDR such as 203.0.113.0/24"))
			}
		}
	}
	cidrs(haP.Child("externalIPCIDRs"), ha.ExternalIPCIDRs)
	cidrs(haP.Child("endpointCIDRs"), ha.EndpointCIDRs)
	if r, rP := ha.APIRequests, haP.Child("apiRequests"); r.QPS < 0 || r.QPS > 10000 {
		errs = append(errs, field.Invalid(rP.Child("qps"), r.QPS, "must be between 1 and 10000 requests per second (0: the default)"))
	} else if r.Burst != 0 && r.Burst < r.QPS {
		errs = append(errs, field.Invalid(rP.Child("burst"), r.Burst, fmt.Sprintf("must be at least qps (%d)", r.QPS)))
	}
	if v := ha.MaxPriorityClassValue; v != nil && *v > 1000000000 {
		errs = append(errs, field.Invalid(haP.Child("maxPriorityClassValue"), *v, "must be at most 1000000000; higher values are reserved for the host's system classes"))
	}
	ob, obP := pol.NetworkPolicy.OutgoingConnections, p.Child("networkPolicy", "outgoingConnections")
	if ob.CIDR != "" {
		if _, _, err := net.ParseCIDR(ob.CIDR); err != nil {
			errs = append(errs, field.Invalid(obP.Child("cidr"), ob.CIDR, "must be a CIDR such as 0.0.0.0/0"))
		}
	}
	for i, e := range ob.Except {
		if _, _, err := net.ParseCIDR(e); err != nil {
			errs = append(errs, field.Invalid(obP.Child("except").Index(i), e, "must be a CIDR such as 10.0.0.0/8"))
		}
	}
	return errs
}

// allTrue says that several paths are true: "a and b are both true", "a, b and c are all true".
func allTrue(paths []string) string {
	if len(paths) == 2 {
		return paths[0] + " and " + paths[1] + " are both true"
	}
	return strings.Join(paths[:len(paths)-1], ", ") + " and " + paths[len(paths)-1] + " are all true"
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
