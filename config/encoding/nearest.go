package encoding

import (
	"reflect"
	"slices"
	"strings"
	"sync"
)

// schemaFields maps the JSON keys a struct type accepts to their field types. Embedded structs
// tagged `json:",inline"` (or untagged) contribute their fields, as encoding/json promotes them.
func schemaFields(t reflect.Type) map[string]reflect.Type {
	if v, ok := fieldCache.Load(t); ok {
		return v.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range schemaFields(ft) {
					if _, shadowed := out[k]; !shadowed {
						out[k] = v
					}
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	fieldCache.Store(t, out)
	return out
}

var fieldCache sync.Map

// schemaKeys lists the JSON keys of a struct type, sorted.
func schemaKeys(t reflect.Type) []string {
	fields := schemaFields(t)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// nearestKey is the known key closest to key by edit distance (case-insensitive), or "" when
// none is close enough to be a plausible typo.
func nearestKey(key string, known []string) string {
	lk := strings.ToLower(key)
	best, bestDist, bestPrefix := "", -1, 0
	for _, k := range known {
		lc := strings.ToLower(k)
		d, p := editDistance(lk, lc), commonPrefix(lk, lc)
		if bestDist < 0 || d < bestDist || (d == bestDist && p > bestPrefix) {
			best, bestDist, bestPrefix = k, d, p
		}
	}
	if bestDist < 0 || bestDist >= len(key) {
		return ""
	}
	// About one edit per three characters, and always two ("apiServr" → "apiServer"); up to
	// half the key when the start agrees ("policy" → "policies"). "foo" suggests nothing.
	if bestDist <= max(2, len(key)/3) || (bestPrefix >= 4 && bestDist <= len(key)/2) {
		return best
	}
	return ""
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// editDistance is the Levenshtein distance between a and b (bytes; keys are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
