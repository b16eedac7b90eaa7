package legacy

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"vkube.io/vkube/config"
)

// syncToggle maps a legacy sync kind (a `sync.<kind>` key or a `--sync` item) to its toggle.
func syncToggle(c *config.Config, kind string) *config.Toggle {
	to, from := &c.Sync.ToHost, &c.Sync.FromHost
	switch kind {
	case "pods":
		return &to.Pods.Toggle
	case "services":
		return &to.Services
	case "endpoints":
		return &to.Endpoints
	case "configmaps":
		return &to.ConfigMaps
	case "secrets":
		return &to.Secrets
	case "persistentvolumeclaims":
		return &to.PersistentVolumeClaims
	case "ingresses":
		return &to.Ingresses
	case "networkpolicies":
		return &to.NetworkPolicies
	case "priorityclasses":
		return &to.PriorityClasses
	case "storageclasses":
		return &to.StorageClasses
	case "persistentvolumes":
		return &to.PersistentVolumes
	case "poddisruptionbudgets":
		return &to.PodDisruptionBudgets
	case "events":
		return &from.Events
	case "legacy-storageclasses", "hoststorageclasses":
		// Host storage classes shared into the virtual cluster.
		return &from.StorageClasses
	}
	return nil
}

// convertSync maps the legacy `sync.<kind>.enabled` keys and node syncing.
func (r *reader) convertSync(c *config.Config, distro string) {
	sync := r.values["sync"]
	kinds, _ := sync.(map[string]any)
	for _, kind := range slices.Sorted(maps.Keys(kinds)) {
		if t := syncToggle(c, kind); t != nil {
			if on, ok := r.boolean("sync", kind, "enabled"); ok {
				*t = config.NewToggle(on)
			}
		}
	}
	// vkube syncs ephemeral containers always (kubectl debug needs them).
	r.get("sync", "pods", "ephemeralContainers")

	nodes := &c.Sync.FromHost.Nodes
	if on, ok := r.boolean("sync", "nodes", "enabled"); ok {
		nodes.Enabled = on
	}
	if on, ok := r.boolean("sync", "nodes", "syncAllNodes"); ok {
		nodes.SyncAll = on
	}
	if sel := r.selector("sync", "nodes", "nodeSelector"); len(sel) > 0 {
		nodes.Selector = sel
	}
	if on, ok := r.boolean("sync", "nodes", "enableScheduler"); ok && on {
		enableVirtualScheduler(c, distro)
	}
	if on, ok := r.boolean("sync", "nodes", "fakeKubeletIPs"); ok && !on {
		r.ignore("sync", "nodes", "fakeKubeletIPs")
	}
	// Fake nodes are vkube's default; turning them off only means something without real nodes.
	if on, ok := r.boolean("sync", "fake-nodes", "enabled"); ok && !on && !nodes.Enabled {
		r.ignore("sync", "fake-nodes", "enabled")
	}
	r.get("sync", "fake-persistentvolumes", "enabled")
}

// enableVirtualScheduler sets the distro-independent switch too, so that it survives a later
// `--distro` that picks another distro than the values implied.
func enableVirtualScheduler(c *config.Config, distro string) {
	switch distro {
	case config.DistroK8s:
		c.ControlPlane.Distro.K8s.Scheduler.Enabled = true
	case config.DistroEKS:
		c.ControlPlane.Distro.EKS.Scheduler.Enabled = true
	}
	c.ControlPlane.Advanced.VirtualScheduler = config.NewToggle(true)
}

// selector reads a legacy node selector: the label-selector string "a=b,c=d", or a mapping.
func (r *reader) selector(segs ...string) map[string]string {
	v, ok := r.get(segs...)
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "" {
			return nil
		}
		m, err := labels.ConvertSelectorToLabelsMap(x)
		if err != nil {
			r.errs = append(r.errs, field.Invalid(legacyPath(segs), x, "must be a label selector such as kubernetes.io/os=linux,disktype=ssd"))
			return nil
		}
		return m
	case map[string]any:
		return r.stringMap(segs...)
	}
	r.typeError(segs, v, "a label selector such as disktype=ssd")
	return nil
}

// Syncer flags the chart itself set; vkube sets its own equivalents.
var chartSyncerFlags = map[string]bool{
	"name": true, "service-name": true, "target-namespace": true, "kube-config": true,
	"server-ca-cert": true, "server-ca-key": true, "client-ca-cert": true,
	"request-header-ca-cert": true, "set-owner": true, "leader-elect": true,
}

// convertSyncerArgs maps the legacy syncer's flags (syncer.extraArgs) to settings.
func (r *reader) convertSyncerArgs(c *config.Config, distro string) {
	if ctx, ok := r.str("syncer", "kubeConfigContextName"); ok && ctx != "" {
		c.Exporting.Context = ctx
	}
	valued := map[string]bool{
		"tls-san": true, "out-kube-config-server": true, "kube-config-context-name": true,
		"override-hosts-container-image": true, "sync": true, "enforce-pod-security-standard": true,
		"node-selector": true, "map-host-service": true, "map-virtual-service": true,
		"name": true, "service-name": true, "target-namespace": true, "kube-config": true,
		"server-ca-cert": true, "server-ca-key": true, "client-ca-cert": true, "request-header-ca-cert": true,
	}
	boolean := map[string]bool{
		"sync-all-nodes": true, "enable-scheduler": true, "fake-nodes": true, "set-owner": true, "leader-elect": true,
	}
	args := r.strs("syncer", "extraArgs")
	rest := eachFlag(args, valued, boolean, func(name, value string) {
		if valued[name] && value == "" {
			r.warn("syncer.extraArgs --%s has no value: ignored", name)
			return
		}
		nodes := &c.Sync.FromHost.Nodes
		switch name {
		case "tls-san":
			c.ControlPlane.Proxy.ExtraSANs = appendSANs(c.ControlPlane.Proxy.ExtraSANs, value)
		case "out-kube-config-server":
			c.Exporting.Server = value
		case "kube-config-context-name":
			c.Exporting.Context = value
		case "override-hosts-container-image":
			// vcluster's helper is a shell image (alpine); vkube's runs vkube itself.
			r.warn("syncer.extraArgs --override-hosts-container-image names vcluster's shell helper (%s): ignored; vkube's helper is the vkube image (sync.toHost.rewriteHostsImage to mirror it)", value)
		case "enforce-pod-security-standard":
			c.Policies.PodSecurityStandard = value
		case "sync":
			r.syncFlag(c, value)
		case "node-selector":
			m, err := labels.ConvertSelectorToLabelsMap(value)
			if err != nil {
				r.errs = append(r.errs, field.Invalid(field.NewPath("syncer", "extraArgs"), "--node-selector="+value, "must be a label selector such as disktype=ssd"))
				return
			}
			nodes.Selector = m
		case "sync-all-nodes":
			if value == "true" {
				nodes.Enabled, nodes.SyncAll = true, true
			}
		case "enable-scheduler":
			if value == "true" {
				enableVirtualScheduler(c, distro)
			}
		case "fake-nodes":
			if value == "false" && !nodes.Enabled {
				r.ignored = append(r.ignored, "syncer.extraArgs --fake-nodes=false")
			}
		case "map-host-service", "map-virtual-service":
			from, to, ok := strings.Cut(value, "=")
			if !ok {
				r.errs = append(r.errs, field.Invalid(field.NewPath("syncer", "extraArgs"), "--"+name+"="+value, "must map NAMESPACE/NAME=NAMESPACE/NAME"))
				return
			}
			rs := &c.Networking.ReplicateServices
			if name == "map-host-service" {
				rs.FromHost = append(rs.FromHost, config.ServiceMapping{From: from, To: to})
			} else {
				rs.ToHost = append(rs.ToHost, config.ServiceMapping{From: from, To: to})
			}
		default:
			if !chartSyncerFlags[name] {
				r.ignored = append(r.ignored, "syncer.extraArgs --"+name)
			}
		}
	})
	for i := 0; i < len(rest); i++ {
		if !strings.HasPrefix(rest[i], "-") {
			continue // a value of an unknown flag, already reported with its flag
		}
		name, _, _ := strings.Cut(strings.TrimLeft(rest[i], "-"), "=")
		// Only the flag's name: unknown flags' values may be secrets.
		r.ignored = append(r.ignored, "syncer.extraArgs --"+name)
	}
}

// syncFlag applies the syncer's --sync=a,-b,+c list.
func (r *reader) syncFlag(c *config.Config, value string) {
	for _, item := range strings.Split(value, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		on := !strings.HasPrefix(item, "-")
		kind := strings.TrimLeft(item, "+-")
		if t := syncToggle(c, kind); t != nil {
			*t = config.NewToggle(on)
		} else {
			r.ignored = append(r.ignored, "syncer.extraArgs --sync="+item)
		}
	}
}

// convertMapServices maps mapServices.fromHost/fromVirtual to networking.replicateServices.
func (r *reader) convertMapServices(c *config.Config) {
	rs := &c.Networking.ReplicateServices
	rs.FromHost = append(rs.FromHost, r.serviceMappings("mapServices", "fromHost")...)
	rs.ToHost = append(rs.ToHost, r.serviceMappings("mapServices", "fromVirtual")...)
}

func (r *reader) serviceMappings(segs ...string) []config.ServiceMapping {
	var out []config.ServiceMapping
	for i, m := range r.maps(segs...) {
		from, fromOK := m["from"].(string)
		to, toOK := m["to"].(string)
		if !fromOK || !toOK || from == "" || to == "" {
			r.errs = append(r.errs, field.Invalid(legacyPath(segs).Index(i), fmt.Sprint(m), "must have from: NAMESPACE/NAME and to: NAMESPACE/NAME"))
			continue
		}
		out = append(out, config.ServiceMapping{From: strings.TrimSpace(from), To: strings.TrimSpace(to)})
	}
	return out
}
