package legacy

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	"vkube.io/vkube/config"
)

var imageVersionRE = regexp.MustCompile(`^v?(\d+\.\d+\.\d+)(?:[-+](k3s\d+|k0s\.\d+))?`)

// InferDistroFromImage tells the distro and Kubernetes version from a legacy chart image:
// rancher/k3s:v1.23.5-k3s1 → k3s v1.23.5+k3s1, k0sproject/k0s:v1.26.0-k0s.0 → k0s v1.26.0+k0s.0,
// any kube-apiserver/controller-manager/scheduler image → k8s (eks for EKS-Distro) with the tag's
// vX.Y.Z. ok is false for images of no distro (etcd, the vcluster syncer); version is empty when
// the tag is not a version.
func InferDistroFromImage(image string) (distro, version string, ok bool) {
	ref := strings.TrimSpace(image)
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	repo, tag := ref, ""
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo, tag = ref[:i], ref[i+1:]
	}
	repo = strings.ToLower(repo)
	name := path.Base(repo)
	switch {
	case strings.Contains(name, "k3s"):
		distro = config.DistroK3s
	case strings.Contains(name, "k0s"):
		distro = config.DistroK0s
	case strings.Contains(name, "kube-apiserver"), strings.Contains(name, "kube-controller-manager"),
		strings.Contains(name, "kube-scheduler"):
		distro = config.DistroK8s
		if strings.Contains(repo, "eks-distro") || strings.Contains(tag, "-eks-") {
			distro = config.DistroEKS
		}
	default:
		return "", "", false
	}
	if m := imageVersionRE.FindStringSubmatch(tag); m != nil {
		version = "v" + m[1]
		if (distro == config.DistroK3s && strings.HasPrefix(m[2], "k3s")) || (distro == config.DistroK0s && strings.HasPrefix(m[2], "k0s")) {
			version += "+" + m[2]
		}
	}
	return distro, version, true
}

// convertDistro picks the distro: from vcluster.image (k3s/k0s charts), from the k8s chart's
// component images, or from the k8s chart's component keys. Nothing is set when the values do
// not say, so the vkube default (k8s) applies.
func (r *reader) convertDistro(c *config.Config) string {
	distro, version, from := "", "", ""
	if img, ok := r.str("vcluster", "image"); ok && img != "" {
		if d, v, known := InferDistroFromImage(img); known {
			distro, version, from = d, v, "vcluster.image"
		} else {
			r.warn("vcluster.image %q is not a k3s, k0s or Kubernetes image, so it does not tell the distro: set controlPlane.distro.<name>.enabled", img)
		}
	}
	versionFrom := from
	for _, comp := range []string{"api", "controller", "scheduler"} {
		img, ok := r.str(comp, "image")
		if !ok || img == "" {
			continue
		}
		d, v, known := InferDistroFromImage(img)
		if !known || (d != config.DistroK8s && d != config.DistroEKS) {
			r.warn("%s.image %q is not a Kubernetes component image: ignored", comp, img)
			continue
		}
		if distro == "" {
			distro, from = d, comp+".image"
		}
		if distro != config.DistroK8s && distro != config.DistroEKS {
			r.warn("%s.image %q ignored: %s selects the %s distro", comp, img, from, distro)
			continue
		}
		switch {
		case version == "":
			version, versionFrom = v, comp+".image"
		case v != "" && v != version:
			r.warn("%s.image is %s but %s is %s: vkube runs one Kubernetes version, %s", comp, v, versionFrom, version, version)
		}
	}
	if distro == "" {
		for _, comp := range []string{"api", "controller", "scheduler", "etcd"} {
			if r.has(comp) {
				distro = config.DistroK8s // only the k8s chart has these keys
				break
			}
		}
	}
	if distro == "" && (r.has("vcluster", "command") || r.has("vcluster", "baseArgs") || r.has("vcluster", "extraArgs")) {
		distro = config.DistroK3s
		r.warn("vcluster.command/baseArgs/extraArgs without vcluster.image: assuming the k3s chart, vcluster's default then; set controlPlane.distro.<name>.enabled to choose another distro")
	}
	if distro == "" {
		return config.DistroK8s
	}
	_ = c.SetDistro(distro)
	if version != "" {
		c.SetKubernetesVersion(version)
	}
	return distro
}

// convertControlPlaneArgs maps the distro container (vcluster.*) and the k8s chart's components
// (api, controller, scheduler, etcd) onto the distro's command, extra args and env.
func (r *reader) convertControlPlaneArgs(c *config.Config, distro string) {
	d := &c.ControlPlane.Distro
	args := r.takeControlPlaneFlags(c, r.strs("vcluster", "extraArgs"))
	command, base := r.strs("vcluster", "command"), r.strs("vcluster", "baseArgs")
	var cmd []string
	switch {
	case len(base) > 0:
		if len(command) == 0 {
			command = []string{distro}
		}
		cmd = append(append([]string(nil), command...), base...)
		r.warn("vcluster.command and vcluster.baseArgs replace vkube's whole %s command line (now controlPlane.distro.%s.command): remove them unless that is what you want", distro, distro)
	case len(command) == 1 && isDistroBinary(command[0]):
		r.warn("vcluster.command %q is the chart's default binary: vkube starts %s itself, ignored", command[0], distro)
	case len(command) > 0:
		cmd = command
	}
	env := r.envVars("vcluster", "env")

	apiArgs := r.takeControlPlaneFlags(c, r.strs("api", "extraArgs"))
	ctrlArgs := r.takeControlPlaneFlags(c, r.strs("controller", "extraArgs"))
	schedArgs := r.strs("scheduler", "extraArgs")
	compEnv := append(append(r.envVars("api", "env"), r.envVars("controller", "env")...), r.envVars("scheduler", "env")...)
	if ea := r.strs("etcd", "extraArgs"); len(ea) > 0 {
		bs := &c.ControlPlane.BackingStore.Etcd.Embedded
		bs.ExtraArgs = append(bs.ExtraArgs, ea...)
	}

	switch distro {
	case config.DistroK3s:
		k := &d.K3s
		k.ExtraArgs = append(k.ExtraArgs, args...)
		k.ExtraArgs = append(k.ExtraArgs, k3sComponentArgs("--kube-apiserver-arg", apiArgs)...)
		k.ExtraArgs = append(k.ExtraArgs, k3sComponentArgs("--kube-controller-manager-arg", ctrlArgs)...)
		k.ExtraArgs = append(k.ExtraArgs, k3sComponentArgs("--kube-scheduler-arg", schedArgs)...)
		k.Command = cmd
		k.Env = append(append(k.Env, env...), compEnv...)
	case config.DistroK0s:
		k := &d.K0s
		k.ExtraArgs = append(k.ExtraArgs, args...)
		k.Command = cmd
		k.Env = append(append(k.Env, env...), compEnv...)
		if cfg, ok := r.str("vcluster", "config"); ok {
			k.Config = cfg
		}
		for _, comp := range []string{"api", "controller", "scheduler"} {
			if r.has(comp, "extraArgs") {
				r.ignore(comp, "extraArgs")
			}
		}
	default:
		k := &d.K8s
		if distro == config.DistroEKS {
			k = &d.EKS
		}
		// With a kube-apiserver image, the vcluster container was the API server.
		k.APIServer.ExtraArgs = append(append(k.APIServer.ExtraArgs, args...), apiArgs...)
		k.ControllerManager.ExtraArgs = append(k.ControllerManager.ExtraArgs, ctrlArgs...)
		k.Scheduler.ExtraArgs = append(k.Scheduler.ExtraArgs, schedArgs...)
		if len(cmd) > 0 {
			k.APIServer.Command = cmd
		}
		for _, x := range []struct {
			comp string
			dst  *[]string
		}{{"api", &k.APIServer.Command}, {"controller", &k.ControllerManager.Command}, {"scheduler", &k.Scheduler.Command}} {
			if cc := r.strs(x.comp, "command"); len(cc) > 0 {
				*x.dst = cc
			}
		}
		k.Env = append(append(k.Env, env...), compEnv...)
	}
}

func isDistroBinary(cmd string) bool {
	switch path.Base(cmd) {
	case "k3s", "k0s", "kube-apiserver":
		return true
	}
	return false
}

// k3sComponentArgs turns kube-apiserver style flags into k3s' pass-through form:
// --audit-log-path=/x → --kube-apiserver-arg=audit-log-path=/x.
func k3sComponentArgs(passThrough string, args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimLeft(args[i], "-")
		if !strings.Contains(a, "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			a += "=" + args[i+1]
			i++
		}
		out = append(out, passThrough+"="+a)
	}
	return out
}

// takeControlPlaneFlags moves the flags vkube has settings for out of a control-plane
// argument list: the service CIDR, TLS SANs, the cluster domain, and k3s' datastore flags.
func (r *reader) takeControlPlaneFlags(c *config.Config, args []string) []string {
	valued := map[string]bool{
		"service-cidr": true, "service-cluster-ip-range": true, "tls-san": true, "cluster-domain": true,
		"datastore-endpoint": true, "datastore-cafile": true, "datastore-certfile": true, "datastore-keyfile": true,
	}
	var tls config.TLSFiles
	rest := eachFlag(args, valued, nil, func(name, value string) {
		if value == "" {
			r.warn("--%s has no value: ignored", name)
			return
		}
		a := &c.ControlPlane.Advanced
		switch name {
		case "service-cidr", "service-cluster-ip-range":
			if a.ServiceCIDR != "" && a.ServiceCIDR != value {
				r.warn("--%s=%s conflicts with the service CIDR %s set elsewhere: using %s", name, value, a.ServiceCIDR, value)
			}
			a.ServiceCIDR = value
		case "tls-san":
			c.ControlPlane.Proxy.ExtraSANs = appendSANs(c.ControlPlane.Proxy.ExtraSANs, value)
		case "cluster-domain":
			a.ClusterDomain = value
		case "datastore-endpoint":
			bs := &c.ControlPlane.BackingStore
			if u, err := url.Parse(strings.Split(value, ",")[0]); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
				bs.Etcd.External.Enabled, bs.Etcd.External.Endpoint = true, value
			} else {
				bs.Database.External.Enabled, bs.Database.External.DataSource = true, value
			}
		case "datastore-cafile":
			tls.CAFile = value
		case "datastore-certfile":
			tls.CertFile = value
		case "datastore-keyfile":
			tls.KeyFile = value
		}
	})
	if tls != (config.TLSFiles{}) {
		bs := &c.ControlPlane.BackingStore
		if bs.Etcd.External.Enabled {
			bs.Etcd.External.TLS = tls
		} else {
			bs.Database.External.TLSFiles = tls
		}
	}
	return rest
}

// convertReplicasAndStore maps enableHA and the components' replicas to the StatefulSet's
// replicas (vkube runs every component in each replica), and picks a backing store that can
// serve them.
func (r *reader) convertReplicasAndStore(c *config.Config, distro string) {
	ha, _ := r.boolean("enableHA")
	maxReplicas, counts, differ := 0, []string{}, false
	for _, segs := range [][]string{{"replicas"}, {"syncer", "replicas"}, {"api", "replicas"}, {"controller", "replicas"}, {"scheduler", "replicas"}, {"etcd", "replicas"}} {
		n, ok := r.integer(segs...)
		if !ok {
			continue
		}
		if len(counts) > 0 && n != maxReplicas {
			differ = true
		}
		maxReplicas = max(maxReplicas, n)
		counts = append(counts, fmt.Sprintf("%s %d", strings.Join(segs, "."), n))
	}
	if maxReplicas > 1 {
		c.ControlPlane.StatefulSet.HighAvailability.Replicas = maxReplicas
		if differ {
			r.warn("vkube runs every control-plane component in each replica: using %d replicas (legacy %s)", maxReplicas, strings.Join(counts, ", "))
		}
	} else if ha {
		r.warn("enableHA is set but no component has more than 1 replica: set controlPlane.statefulSet.highAvailability.replicas (e.g. 3) for high availability")
	}

	bs := &c.ControlPlane.BackingStore
	if on, ok := r.boolean("embeddedEtcd", "enabled"); ok && on {
		bs.Etcd.Embedded.Enabled = true
	}
	none := !bs.Database.Embedded.Enabled && !bs.Database.External.Enabled && !bs.Etcd.Embedded.Enabled && !bs.Etcd.External.Enabled
	if none && c.Replicas() > 1 {
		// The legacy k8s chart ran etcd beside the API servers; SQLite cannot serve several replicas.
		bs.Etcd.Embedded.Enabled = true
	}
}

func appendSANs(sans []string, value string) []string {
	for _, s := range strings.Split(value, ",") {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(sans, s) {
			sans = append(sans, s)
		}
	}
	return sans
}

// eachFlag removes from args the flags named in valued (which take a value: --name=value or
// --name value) and boolean (--name, or --name=false), calling fn for each; other arguments are
// returned in order.
func eachFlag(args []string, valued, boolean map[string]bool, fn func(name, value string)) []string {
	var rest []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") {
			rest = append(rest, arg)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		switch {
		case valued[name]:
			if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				value = args[i+1]
				i++
			}
			fn(name, value)
		case boolean[name]:
			if !hasValue {
				value = "true"
			}
			fn(name, value)
		default:
			rest = append(rest, arg)
		}
	}
	return rest
}
