package legacy

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"vkube.io/vkube/config"
)

// The legacy charts ran the control plane in several containers (k3s + syncer, or apiserver,
// controller-manager, scheduler, etcd and syncer in separate pods); vkube runs one container in
// one StatefulSet, so their settings fold into it.
var legacyContainers = [][]string{{"vcluster"}, {"syncer"}, {"api"}, {"controller"}, {"scheduler"}, {"etcd"}}

// convertPod maps storage, resources, volumes, security contexts, placement and env onto the
// StatefulSet.
func (r *reader) convertPod(c *config.Config) {
	sts := &c.ControlPlane.StatefulSet
	vc := &sts.Persistence.VolumeClaim
	for _, base := range [][]string{{"storage"}, {"etcd", "storage"}} {
		if on, ok := r.boolean(append(base, "persistence")...); ok && vc.Enabled == nil {
			vc.Enabled = &on
		}
		if s, ok := r.str(append(base, "size")...); ok && vc.Size == "" {
			vc.Size = s
		}
		if s, ok := r.str(append(base, "className")...); ok && vc.StorageClass == "" {
			vc.StorageClass = s
		}
	}
	r.get("etcd", "autoDeletePersistentVolumeClaims")

	r.convertResources(c)
	r.convertSecurity(c)

	for _, segs := range [][]string{{"volumeMounts"}, {"vcluster", "volumeMounts"}, {"vcluster", "extraVolumeMounts"}, {"syncer", "volumeMounts"}, {"syncer", "extraVolumeMounts"}} {
		for _, m := range r.maps(segs...) {
			// The chart's own data volume: vkube mounts its data volume itself.
			if m["name"] == "data" {
				continue
			}
			if !containsMap(sts.ExtraVolumeMounts, m) {
				sts.ExtraVolumeMounts = append(sts.ExtraVolumeMounts, m)
			}
		}
	}
	for _, segs := range [][]string{{"volumes"}, {"syncer", "volumes"}, {"syncer", "extraVolumes"}, {"vcluster", "extraVolumes"}} {
		sts.ExtraVolumes = append(sts.ExtraVolumes, r.maps(segs...)...)
	}

	if m := r.stringMap("nodeSelector"); len(m) > 0 {
		sts.NodeSelector = m
	}
	if l := r.maps("tolerations"); len(l) > 0 {
		sts.Tolerations = l
	}
	if m := r.mapping("affinity"); len(m) > 0 {
		sts.Affinity = m
	}
	for _, x := range []struct {
		key string
		dst *map[string]string
	}{{"labels", &sts.Labels}, {"annotations", &sts.Annotations}, {"podLabels", &sts.PodLabels}, {"podAnnotations", &sts.PodAnnotations}} {
		if m := r.stringMap(x.key); len(m) > 0 {
			*x.dst = m
		}
	}
	if s, ok := r.str("priorityClassName"); ok && s != "" {
		r.ignore("priorityClassName")
	}

	sts.Env = append(sts.Env, r.envVars("syncer", "env")...)
	for _, base := range legacyContainers {
		if p, ok := r.str(append(base, "imagePullPolicy")...); ok && p != "" && sts.ImagePullPolicy == "" {
			sts.ImagePullPolicy = p
		}
		// Probes on by default are what vkube does anyway.
		for _, probe := range []string{"livenessProbe", "readinessProbe"} {
			if on, ok := r.boolean(append(base, probe, "enabled")...); ok && !on {
				r.ignore(append(base, probe, "enabled")...)
			}
		}
	}
	// The legacy syncer and etcd images have no place in vkube's single image.
	r.ignore("syncer", "image")
	r.ignore("etcd", "image")
}

// convertResources sums the legacy containers' requests and limits: vkube's one container does
// the work of all of them.
func (r *reader) convertResources(c *config.Config) {
	sources := append([][]string{{"resources"}}, legacyContainers...)
	totals := map[string]map[string]resource.Quantity{}
	for _, base := range sources {
		segs := base
		if len(base) == 1 && base[0] != "resources" {
			segs = append(append([]string(nil), base...), "resources")
		}
		m := r.mapping(segs...)
		for _, kind := range slices.Sorted(maps.Keys(m)) {
			if kind != "limits" && kind != "requests" {
				r.ignore(append(segs, kind)...)
				continue
			}
			quantities, ok := m[kind].(map[string]any)
			if !ok {
				if m[kind] != nil {
					r.typeError(append(segs, kind), m[kind], "a mapping of resource names to quantities")
				}
				continue
			}
			for _, name := range slices.Sorted(maps.Keys(quantities)) {
				q, err := resource.ParseQuantity(fmt.Sprint(quantities[name]))
				if err != nil {
					r.errs = append(r.errs, field.Invalid(legacyPath(append(segs, kind, name)), quantities[name], "must be a quantity such as 500m or 2Gi"))
					continue
				}
				if totals[kind] == nil {
					totals[kind] = map[string]resource.Quantity{}
				}
				sum := totals[kind][name]
				sum.Add(q)
				totals[kind][name] = sum
			}
		}
	}
	if len(totals) == 0 {
		return
	}
	out := map[string]any{}
	for kind, qs := range totals {
		m := map[string]any{}
		for name, q := range qs {
			m[name] = q.String()
		}
		out[kind] = m
	}
	c.ControlPlane.StatefulSet.Resources = out
}

// Keys of a container securityContext that only exist on the pod's securityContext.
var podOnlySecurityKeys = map[string]bool{"fsGroup": true, "fsGroupChangePolicy": true, "supplementalGroups": true, "sysctls": true}

// convertSecurity folds the top-level securityContext/fsGroup and every legacy container's into
// vkube's container and pod security contexts, normalised for the restricted Pod Security
// Standard: capabilities.drop [all] becomes [ALL], and NET_BIND_SERVICE is not added.
func (r *reader) convertSecurity(c *config.Config) {
	container, pod := map[string]any{}, map[string]any{}
	fold := func(dst map[string]any, src map[string]any, where string) {
		for _, k := range slices.Sorted(maps.Keys(src)) {
			v := src[k]
			target := dst
			if podOnlySecurityKeys[k] {
				target = pod
			}
			if k == "capabilities" {
				// A copy: normalising replaces its lists, and v belongs to the caller's values.
				caps, _ := v.(map[string]any)
				caps = maps.Clone(caps)
				if removed := normaliseCapabilities(caps); removed != "" {
					r.warn("%s.capabilities.add: removed %s: vkube listens on unprivileged ports only and does not need it", where, removed)
				}
				mergeCapabilities(target, caps)
				continue
			}
			if old, set := target[k]; set && !reflect.DeepEqual(old, v) {
				r.warn("%s.%s is %v but %v was set before: vkube runs one container and keeps %v", where, k, v, old, old)
				continue
			}
			target[k] = v
		}
	}
	bases := append([][]string{nil}, legacyContainers...)
	for _, base := range bases {
		where := strings.Join(append(append([]string(nil), base...), "securityContext"), ".")
		if m := r.mapping(append(base, "securityContext")...); m != nil {
			fold(container, m, where)
		}
		if m := r.mapping(append(base, "podSecurityContext")...); m != nil {
			fold(pod, m, strings.Join(append(append([]string(nil), base...), "podSecurityContext"), "."))
		}
		if g, ok := r.integer(append(base, "fsGroup")...); ok {
			fold(pod, map[string]any{"fsGroup": int64(g)}, strings.Join(append(append([]string(nil), base...), "fsGroup"), "."))
		}
	}
	if caps, ok := container["capabilities"].(map[string]any); ok {
		if len(caps) == 0 {
			delete(container, "capabilities")
		}
		// A context that drops every capability aims at the restricted Pod Security Standard,
		// which also wants the RuntimeDefault seccomp profile.
		if containsAny(caps["drop"], "ALL") && container["seccompProfile"] == nil && pod["seccompProfile"] == nil {
			container["seccompProfile"] = map[string]any{"type": "RuntimeDefault"}
		}
	}
	sec := &c.ControlPlane.StatefulSet.Security
	if len(container) > 0 {
		sec.ContainerSecurityContext = container
	}
	if len(pod) > 0 {
		sec.PodSecurityContext = pod
	}
}

// mergeCapabilities unions capabilities.add and capabilities.drop lists into dst.
func mergeCapabilities(dst map[string]any, src map[string]any) {
	caps, _ := dst["capabilities"].(map[string]any)
	if caps == nil {
		caps = map[string]any{}
		dst["capabilities"] = caps
	}
	for _, k := range []string{"add", "drop"} {
		list, _ := src[k].([]any)
		for _, item := range list {
			cur, _ := caps[k].([]any)
			if !containsAny(cur, fmt.Sprint(item)) {
				caps[k] = append(cur, fmt.Sprint(item))
			}
		}
	}
}

// normaliseCapabilities upper-cases names and strips CAP_ (Kubernetes spells them NET_RAW, ALL),
// and removes NET_BIND_SERVICE from add; it returns the name it removed, as written.
func normaliseCapabilities(caps map[string]any) (removed string) {
	if caps == nil {
		return ""
	}
	for _, k := range []string{"add", "drop"} {
		list, _ := caps[k].([]any)
		var out []any
		for _, item := range list {
			name := strings.TrimPrefix(strings.ToUpper(fmt.Sprint(item)), "CAP_")
			if k == "add" && name == "NET_BIND_SERVICE" {
				removed = fmt.Sprint(item)
				continue
			}
			if !containsAny(out, name) {
				out = append(out, name)
			}
		}
		if len(out) > 0 {
			caps[k] = out
		} else {
			delete(caps, k)
		}
	}
	return removed
}

func containsAny(list any, s string) bool {
	l, _ := list.([]any)
	for _, v := range l {
		if fmt.Sprint(v) == s {
			return true
		}
	}
	return false
}

func containsMap(list []map[string]any, m map[string]any) bool {
	for _, e := range list {
		if reflect.DeepEqual(e, m) {
			return true
		}
	}
	return false
}

// maps reads a list of mappings.
func (r *reader) maps(segs ...string) []map[string]any {
	var out []map[string]any
	for i, e := range r.list(segs...) {
		m, ok := e.(map[string]any)
		if !ok {
			r.errs = append(r.errs, field.Invalid(legacyPath(segs).Index(i), e, "must be a mapping"))
			continue
		}
		out = append(out, m)
	}
	return out
}

// envVars reads a container env list; valueFrom entries have no vkube equivalent.
func (r *reader) envVars(segs ...string) []config.EnvVar {
	var out []config.EnvVar
	for i, m := range r.maps(segs...) {
		name, _ := m["name"].(string)
		if name == "" {
			r.errs = append(r.errs, field.Required(legacyPath(segs).Index(i).Child("name"), "each env entry needs a name"))
			continue
		}
		if m["valueFrom"] != nil {
			r.ignored = append(r.ignored, fmt.Sprintf("%s[%s].valueFrom", strings.Join(segs, "."), name))
			continue
		}
		v := m["value"]
		if v == nil {
			v = ""
		}
		out = append(out, config.EnvVar{Name: name, Value: fmt.Sprint(v)})
	}
	return out
}
