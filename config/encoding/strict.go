package encoding

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"vkube.io/vkube/config"
)

// UnknownFieldError is a key the vkube.yaml schema does not have at that level.
type UnknownFieldError struct {
	// Path is the key's full path, e.g. controlPlane.distro.k8s.apiServr.
	Path string
	// Suggestion is the nearest known key, or "" when none is close.
	Suggestion string
	// Known lists the keys allowed at that level.
	Known []string

	segs []string
}

func (e *UnknownFieldError) Error() string {
	if e.Suggestion != "" {
		return fmt.Sprintf("%s: unknown field; did you mean %q?", e.Path, e.Suggestion)
	}
	return fmt.Sprintf("%s: unknown field; known fields here: %s", e.Path, strings.Join(e.Known, ", "))
}

// decodeStrict decodes new-format values into c over what c already holds. Every key must exist
// in the schema and every value must fit its field's type; all problems are returned together.
func decodeStrict(values map[string]any, c *config.Config) []error {
	s := &strictWalker{}
	norm := s.conform(values, reflect.TypeOf(config.Config{}), nil, nil)
	if len(s.errs) > 0 {
		return s.errs
	}
	b, err := json.Marshal(norm)
	if err == nil {
		err = json.Unmarshal(b, c)
	}
	if err != nil {
		// Not reachable for conformed values; kept so that a schema change cannot fail silently.
		return []error{fmt.Errorf("decoding values: %w", err)}
	}
	return nil
}

type strictWalker struct {
	errs []error
}

// conform checks v against t and returns it in the shape encoding/json expects for t, with
// scalars written for string fields turned into strings (quota: {pods: 20}).
func (s *strictWalker) conform(v any, t reflect.Type, p *field.Path, segs []string) any {
	if v == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			s.typeError(p, v, "a mapping of keys")
			return nil
		}
		fields := schemaFields(t)
		out := make(map[string]any, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			ft, known := fields[k]
			kp, ksegs := childPath(p, k), appendSeg(segs, k)
			if !known {
				keys := schemaKeys(t)
				s.errs = append(s.errs, &UnknownFieldError{Path: kp.String(), Suggestion: nearestKey(k, keys), Known: keys, segs: ksegs})
				continue
			}
			out[k] = s.conform(m[k], ft, kp, ksegs)
		}
		return out
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			s.typeError(p, v, "a list")
			return nil
		}
		out := make([]any, len(l))
		for i, item := range l {
			out[i] = s.conform(item, t.Elem(), p.Index(i), appendSeg(segs, "["+strconv.Itoa(i)+"]"))
		}
		return out
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			s.typeError(p, v, "a mapping of keys")
			return nil
		}
		out := make(map[string]any, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out[k] = s.conform(m[k], t.Elem(), p.Key(k), appendSeg(segs, k))
		}
		return out
	case reflect.Interface:
		return v
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			s.typeError(p, v, "true or false (without quotes)")
			return nil
		}
		return v
	case reflect.Int, reflect.Int32, reflect.Int64:
		switch n := v.(type) {
		case int64:
			return n
		case float64:
			if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
				return int64(n)
			}
		}
		s.typeError(p, v, "a whole number (without quotes)")
		return nil
	case reflect.String:
		switch x := v.(type) {
		case string:
			return x
		case int64:
			return strconv.FormatInt(x, 10)
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(x)
		}
		s.typeError(p, v, "a string")
		return nil
	}
	s.typeError(p, v, "a value of type "+t.String())
	return nil
}

func (s *strictWalker) typeError(p *field.Path, v any, want string) {
	got := "a mapping"
	switch v.(type) {
	case []any:
		got = "a list"
	case string:
		got = "a string"
	case bool:
		got = "a boolean"
	case int64, float64:
		got = "a number"
	}
	s.errs = append(s.errs, field.TypeInvalid(p, field.OmitValueType{}, "must be "+want+", not "+got))
}

func childPath(p *field.Path, k string) *field.Path {
	if p == nil {
		return field.NewPath(k)
	}
	return p.Child(k)
}

func appendSeg(segs []string, s string) []string {
	return append(append([]string(nil), segs...), s)
}
