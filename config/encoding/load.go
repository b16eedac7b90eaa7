// Package encoding reads vkube.yaml documents and files into a config.Config: YAML into plain
// values (repeated keys found), merged like helm -f, decoded strictly (an unknown key names the
// nearest known one). Legacy vcluster chart values are converted by config/legacy first; that is
// why loading lives here, above both, and not in config, which legacy builds on.
package encoding

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"vkube.io/vkube/config"
	"vkube.io/vkube/config/legacy"
)

// Load reads one vkube.yaml document, or legacy vcluster chart values (converted, with
// warnings about what was changed or ignored). New-format documents are strict: unknown keys
// are errors that name the nearest known key. Load neither applies defaults nor validates:
// callers apply their flags, then call SetDefaults and Validate.
func Load(data []byte) (*config.Config, []string, error) {
	return load([]source{{data: data}})
}

// LoadFiles reads and merges several files like `helm -f a -f b`: later files override earlier
// ones key by key before the result is decoded as one document.
func LoadFiles(paths ...string) (*config.Config, []string, error) {
	return LoadLayers(nil, paths)
}

// FromValues decodes values already parsed into plain maps (e.g. Helm's merged values), new
// format or legacy, exactly as Load does.
func FromValues(values map[string]any) (*config.Config, []string, error) {
	return fromValues(values, nil, nil)
}

// LoadLayers merges, in order, base (values already parsed, e.g. a release's previous values),
// the files, then overlays (e.g. --set values), and decodes the result as Load does.
func LoadLayers(base map[string]any, paths []string, overlays ...map[string]any) (*config.Config, []string, error) {
	var srcs []source
	if len(base) > 0 {
		srcs = append(srcs, source{name: "previous values", values: base})
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("reading values: %w", err)
		}
		srcs = append(srcs, source{name: p, data: b})
	}
	for _, o := range overlays {
		if len(o) > 0 {
			srcs = append(srcs, source{name: "--set", values: o})
		}
	}
	return load(srcs)
}

type source struct {
	name   string
	data   []byte
	values map[string]any
}

func load(srcs []source) (*config.Config, []string, error) {
	merged := map[string]any{}
	var dups []duplicateKey
	for i := range srcs {
		if srcs[i].values != nil {
			mergeValues(merged, deepCopy(srcs[i].values).(map[string]any))
			continue
		}
		v, d, err := parseValues(srcs[i].data)
		if err != nil {
			return nil, nil, withSource(srcs[i].name, err)
		}
		for j := range d {
			if srcs[i].name != "" {
				d[j].path = srcs[i].name + ": " + d[j].path
			}
		}
		dups = append(dups, d...)
		srcs[i].values = v
		// Merge a copy: the per-file maps stay intact to tell which file an error is in.
		mergeValues(merged, deepCopy(v).(map[string]any))
	}
	return fromValues(merged, dups, srcs)
}

func fromValues(values map[string]any, dups []duplicateKey, srcs []source) (*config.Config, []string, error) {
	c := &config.Config{}
	var warnings []string
	newPart := values
	if markers := legacy.Markers(values); len(markers) > 0 {
		var legacyPart map[string]any
		newPart, legacyPart = splitLegacy(values)
		warnings = append(warnings, fmt.Sprintf("legacy vcluster chart values (found %s): converted to the vkube.yaml schema", strings.Join(markers, ", ")))
		for _, d := range dups {
			warnings = append(warnings, fmt.Sprintf("%s: duplicate key (lines %d and %d): the last one wins", d.path, d.firstLine, d.line))
		}
		w, err := legacy.Convert(legacyPart, c)
		warnings = append(warnings, w...)
		if err != nil {
			return nil, warnings, err
		}
	} else if len(dups) > 0 {
		errs := make([]error, 0, len(dups))
		for _, d := range dups {
			errs = append(errs, fmt.Errorf("%s: duplicate key (lines %d and %d): remove one of them", d.path, d.firstLine, d.line))
		}
		return nil, warnings, utilerrors.NewAggregate(errs)
	}
	if errs := decodeStrict(newPart, c); len(errs) > 0 {
		if len(srcs) > 1 {
			for _, e := range errs {
				var u *UnknownFieldError
				if errors.As(e, &u) {
					if f := locate(srcs, u.segs); f != "" {
						u.Path = f + ": " + u.Path
					}
				}
			}
		}
		return nil, warnings, utilerrors.NewAggregate(errs)
	}
	return c, warnings, nil
}

// splitLegacy separates a legacy document's vkube.yaml keys (which may be mixed in, e.g. by a
// later -f file) from the legacy keys; the former are decoded strictly over the conversion.
func splitLegacy(values map[string]any) (newPart, legacyPart map[string]any) {
	newPart, legacyPart = map[string]any{}, map[string]any{}
	top := schemaFields(reflect.TypeOf(config.Config{}))
	syncKeys := schemaFields(reflect.TypeOf(config.Sync{}))
	for k, v := range values {
		if k == "sync" {
			if m, ok := v.(map[string]any); ok {
				ns, ls := map[string]any{}, map[string]any{}
				for sk, sv := range m {
					if _, isNew := syncKeys[sk]; isNew {
						ns[sk] = sv
					} else {
						ls[sk] = sv
					}
				}
				if len(ns) > 0 {
					newPart[k] = ns
				}
				if len(ls) > 0 {
					legacyPart[k] = ls
				}
				continue
			}
		}
		if _, isNew := top[k]; isNew && !legacy.IsTopLevelKey(k) {
			newPart[k] = v
		} else {
			legacyPart[k] = v
		}
	}
	return newPart, legacyPart
}

// locate names the last file that sets the given key path.
func locate(srcs []source, segs []string) string {
	for i := len(srcs) - 1; i >= 0; i-- {
		var cur any = srcs[i].values
		found := true
		for _, s := range segs {
			switch x := cur.(type) {
			case map[string]any:
				cur, found = x[s]
			case []any:
				var idx int
				if _, err := fmt.Sscanf(s, "[%d]", &idx); err != nil || idx >= len(x) {
					found = false
				} else {
					cur = x[idx]
				}
			default:
				found = false
			}
			if !found {
				break
			}
		}
		if found {
			return srcs[i].name
		}
	}
	return ""
}

func withSource(name string, err error) error {
	if name == "" {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
