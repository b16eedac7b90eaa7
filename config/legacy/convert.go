// Package legacy converts the values of the old vcluster charts (k3s, k0s, k8s, eks) into
// vkube.yaml's config, with a warning for each change and one listing what it ignored. It builds
// config types; config/encoding detects legacy documents and calls it.
package legacy

import (
	"maps"
	"slices"
	"strings"

	"vkube.io/vkube/config"
)

// Convert turns old vcluster chart values (the charts for k3s, k0s, k8s and eks, as the seeds
// write them) into c. It returns warnings for what it changed on the way and one warning
// line listing every key it ignored; values of the wrong type are errors.
func Convert(values map[string]any, c *config.Config) ([]string, error) {
	r := &reader{values: values, used: map[string]bool{}, partly: map[string]bool{}}
	distro := r.convertDistro(c)
	r.convertControlPlaneArgs(c, distro)
	r.convertReplicasAndStore(c, distro)
	r.convertPod(c)
	r.convertSync(c, distro)
	r.convertSyncerArgs(c, distro)
	r.convertExposure(c)
	r.convertIsolation(c)
	r.convertMapServices(c)
	r.convertCoreDNS(c)
	r.convertMisc(c)
	r.collectLeftovers(r.values, nil)
	warnings := r.warnings
	if len(r.ignored) > 0 {
		slices.Sort(r.ignored)
		warnings = append(warnings, "legacy values vkube does not support (yet), ignored: "+strings.Join(slices.Compact(r.ignored), ", "))
	}
	return warnings, r.errs.ToAggregate()
}

// collectLeftovers reports every key nothing consumed, at the highest level where nothing below
// was consumed. Values that ask for nothing (null, false, empty) are no-ops and pass silently.
func (r *reader) collectLeftovers(m map[string]any, prefix []string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		segs := append(append([]string(nil), prefix...), k)
		id := strings.Join(segs, "\x00")
		if r.used[id] || isNoop(m[k]) {
			continue
		}
		if sub, ok := m[k].(map[string]any); ok && r.partly[id] {
			r.collectLeftovers(sub, segs)
			continue
		}
		r.ignored = append(r.ignored, strings.Join(segs, "."))
	}
}

func isNoop(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		// `manifests: |- ---` is the charts' way of saying "none".
		return strings.Trim(x, "- \t\r\n") == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		for _, e := range x {
			if !isNoop(e) {
				return false
			}
		}
		return true
	}
	return false
}

// convertMisc maps the remaining top-level keys and consumes chart mechanics that vkube
// replaces by its own (RBAC, service accounts, telemetry).
func (r *reader) convertMisc(c *config.Config) {
	if cidr, ok := r.str("serviceCIDR"); ok && cidr != "" {
		c.ControlPlane.Advanced.ServiceCIDR = cidr
	}
	if tok, ok := r.str("k3sToken"); ok && tok != "" {
		c.ControlPlane.Distro.K3s.Token = tok
	}
	for _, segs := range [][]string{{"rbac"}, {"telemetry"}, {"pro"}, {"serviceAccount", "create"}, {"enableHA"}} {
		r.get(segs...)
	}
}
