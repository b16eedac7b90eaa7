package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// convertLegacy turns old vcluster chart values (the charts for k3s, k0s, k8s and eks, as the
// seeds write them) into c. It returns warnings for what it changed on the way and one warning
// line listing every key it ignored; values of the wrong type are errors.
func convertLegacy(values map[string]any, c *Config) ([]string, error) {
	r := &legacyReader{values: values, used: map[string]bool{}, partly: map[string]bool{}}
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

// legacyReader reads legacy values by path, remembering what it consumed so that everything
// else can be reported as ignored.
type legacyReader struct {
	values   map[string]any
	used     map[string]bool // consumed paths (and so their subtrees)
	partly   map[string]bool // ancestors of consumed paths
	ignored  []string
	warnings []string
	errs     field.ErrorList
}

func (r *legacyReader) warn(format string, args ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
}

// ignore reports a present key as ignored (and consumed).
func (r *legacyReader) ignore(segs ...string) {
	if _, ok := r.lookup(segs); ok {
		r.mark(segs)
		r.ignored = append(r.ignored, strings.Join(segs, "."))
	}
}

func (r *legacyReader) mark(segs []string) {
	r.used[strings.Join(segs, "\x00")] = true
	for i := 1; i < len(segs); i++ {
		r.partly[strings.Join(segs[:i], "\x00")] = true
	}
}

func (r *legacyReader) lookup(segs []string) (any, bool) {
	var cur any = r.values
	for _, s := range segs {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[s]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// get consumes and returns a value; a null counts as absent.
func (r *legacyReader) get(segs ...string) (any, bool) {
	v, ok := r.lookup(segs)
	if !ok {
		return nil, false
	}
	r.mark(segs)
	return v, v != nil
}

func (r *legacyReader) has(segs ...string) bool {
	v, ok := r.lookup(segs)
	return ok && v != nil
}

func (r *legacyReader) typeError(segs []string, v any, want string) {
	r.errs = append(r.errs, field.Invalid(legacyPath(segs), v, "must be "+want))
}

func legacyPath(segs []string) *field.Path {
	return field.NewPath(segs[0], segs[1:]...)
}

func (r *legacyReader) str(segs ...string) (string, bool) {
	v, ok := r.get(segs...)
	if !ok {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	r.typeError(segs, v, "a string")
	return "", false
}

func (r *legacyReader) boolean(segs ...string) (bool, bool) {
	v, ok := r.get(segs...)
	if !ok {
		return false, false
	}
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		// Helm (YAML 1.1) reads these as booleans.
		switch strings.ToLower(x) {
		case "true", "yes", "on":
			return true, true
		case "false", "no", "off":
			return false, true
		}
	}
	r.typeError(segs, v, "true or false")
	return false, false
}

func (r *legacyReader) integer(segs ...string) (int, bool) {
	v, ok := r.get(segs...)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case int64:
		return int(x), true
	case float64:
		if x == math.Trunc(x) {
			return int(x), true
		}
	case string:
		if n, err := strconv.Atoi(x); err == nil {
			return n, true
		}
	}
	r.typeError(segs, v, "a whole number")
	return 0, false
}

// strs reads a list of strings; a single string counts as a one-element list.
func (r *legacyReader) strs(segs ...string) []string {
	v, ok := r.get(segs...)
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			switch s := e.(type) {
			case string:
				out = append(out, s)
			case int64, float64, bool:
				out = append(out, fmt.Sprint(s))
			case nil:
			default:
				r.errs = append(r.errs, field.Invalid(legacyPath(segs).Index(i), e, "must be a string"))
			}
		}
		return out
	}
	r.typeError(segs, v, "a list of strings")
	return nil
}

func (r *legacyReader) mapping(segs ...string) map[string]any {
	v, ok := r.get(segs...)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" {
			return nil // the charts write `resources: ""` for "none"
		}
		r.typeError(segs, v, "a mapping")
		return nil
	}
	return m
}

func (r *legacyReader) list(segs ...string) []any {
	v, ok := r.get(segs...)
	if !ok {
		return nil
	}
	l, isList := v.([]any)
	if !isList {
		r.typeError(segs, v, "a list")
		return nil
	}
	return l
}

// stringMap reads a mapping of scalars as strings (quota: {requests.cpu: 10}).
func (r *legacyReader) stringMap(segs ...string) map[string]string {
	m := r.mapping(segs...)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) {
		switch v := m[k].(type) {
		case string:
			out[k] = v
		case int64, float64, bool:
			out[k] = fmt.Sprint(v)
		case nil:
		default:
			r.errs = append(r.errs, field.Invalid(legacyPath(segs).Key(k), v, "must be a single value"))
		}
	}
	return out
}

// collectLeftovers reports every key nothing consumed, at the highest level where nothing below
// was consumed. Values that ask for nothing (null, false, empty) are no-ops and pass silently.
func (r *legacyReader) collectLeftovers(m map[string]any, prefix []string) {
	for _, k := range sortedKeys(m) {
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
func (r *legacyReader) convertMisc(c *Config) {
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
