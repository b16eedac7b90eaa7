package legacy

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// reader reads legacy values by path, remembering what it consumed so that everything
// else can be reported as ignored.
type reader struct {
	values   map[string]any
	used     map[string]bool // consumed paths (and so their subtrees)
	partly   map[string]bool // ancestors of consumed paths
	ignored  []string
	warnings []string
	errs     field.ErrorList
}

func (r *reader) warn(format string, args ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
}

// ignore reports a present key as ignored (and consumed).
func (r *reader) ignore(segs ...string) {
	if _, ok := r.lookup(segs); ok {
		r.mark(segs)
		r.ignored = append(r.ignored, strings.Join(segs, "."))
	}
}

func (r *reader) mark(segs []string) {
	r.used[strings.Join(segs, "\x00")] = true
	for i := 1; i < len(segs); i++ {
		r.partly[strings.Join(segs[:i], "\x00")] = true
	}
}

func (r *reader) lookup(segs []string) (any, bool) {
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
func (r *reader) get(segs ...string) (any, bool) {
	v, ok := r.lookup(segs)
	if !ok {
		return nil, false
	}
	r.mark(segs)
	return v, v != nil
}

func (r *reader) has(segs ...string) bool {
	v, ok := r.lookup(segs)
	return ok && v != nil
}

func (r *reader) typeError(segs []string, v any, want string) {
	r.errs = append(r.errs, field.Invalid(legacyPath(segs), v, "must be "+want))
}

func legacyPath(segs []string) *field.Path {
	return field.NewPath(segs[0], segs[1:]...)
}

func (r *reader) str(segs ...string) (string, bool) {
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

func (r *reader) boolean(segs ...string) (bool, bool) {
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

func (r *reader) integer(segs ...string) (int, bool) {
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
func (r *reader) strs(segs ...string) []string {
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

func (r *reader) mapping(segs ...string) map[string]any {
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

func (r *reader) list(segs ...string) []any {
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
func (r *reader) stringMap(segs ...string) map[string]string {
	m := r.mapping(segs...)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
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
