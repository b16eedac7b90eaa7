package encoding

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// YAML is read through yaml.v3's node tree rather than sigs.k8s.io/yaml: legacy values files in
// the wild repeat keys (seed 000 has two `scheduler:`), which decoders into Go values reject, and
// the node tree also gives the line numbers that duplicate-key messages need.

// duplicateKey is a mapping key written twice; the last value wins.
type duplicateKey struct {
	path            string
	line, firstLine int
}

// maxYAMLNodes bounds alias expansion ("billion laughs") while converting the node tree.
const maxYAMLNodes = 1_000_000

// parseValues reads one YAML document into plain Go values: map[string]any for mappings, []any
// for sequences, and string, bool, int64, float64 or nil for scalars.
func parseValues(data []byte) (map[string]any, []duplicateKey, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]any{}, nil, nil
		}
		return nil, nil, fmt.Errorf("invalid YAML: %w", err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, nil, fmt.Errorf("invalid YAML: %w", err)
	case !isNullNode(&extra):
		return nil, nil, fmt.Errorf("line %d: a second YAML document (after ---): put all values in one document, or pass several files", extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if isNullNode(root) {
		return map[string]any{}, nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("line %d: the values must be a YAML mapping (key: value), not a %s", root.Line, kindName(root))
	}
	conv := &nodeConverter{active: map[*yaml.Node]bool{}}
	v, err := conv.value(root, nil)
	if err != nil {
		return nil, nil, err
	}
	return v.(map[string]any), conv.dups, nil
}

type nodeConverter struct {
	dups   []duplicateKey
	nodes  int
	active map[*yaml.Node]bool
}

func (c *nodeConverter) value(n *yaml.Node, path []string) (any, error) {
	c.nodes++
	if c.nodes > maxYAMLNodes {
		return nil, fmt.Errorf("line %d: the document expands to more than %d nodes (aliases?)", n.Line, maxYAMLNodes)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], path)
	case yaml.AliasNode:
		if c.active[n.Alias] {
			return nil, fmt.Errorf("line %d: alias *%s refers to a value that contains it", n.Line, n.Value)
		}
		c.active[n.Alias] = true
		defer delete(c.active, n.Alias)
		return c.value(n.Alias, path)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			v, err := c.value(item, append(path, "["+strconv.Itoa(i)+"]"))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return c.mapping(n, path)
	}
	return scalar(n)
}

func (c *nodeConverter) mapping(n *yaml.Node, path []string) (map[string]any, error) {
	out := map[string]any{}
	lines := map[string]int{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: only plain keys are supported, not a %s", k.Line, kindName(k))
		}
		key := k.Value
		if first, dup := lines[key]; dup {
			c.dups = append(c.dups, duplicateKey{path: displayPath(append(path, key)), line: k.Line, firstLine: first})
		}
		lines[key] = k.Line
		val, err := c.value(v, append(path, key))
		if err != nil {
			return nil, err
		}
		out[key] = val
	}
	// `<<: *anchor` fills the keys the mapping does not set itself; earlier sources win.
	for _, m := range merges {
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, s := range sources {
			v, err := c.value(s, path)
			if err != nil {
				return nil, err
			}
			sm, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("line %d: << must merge a mapping", m.Line)
			}
			for k, sv := range sm {
				if _, set := out[k]; !set {
					out[k] = sv
				}
			}
		}
	}
	return out, nil
}

func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case uint64:
			return float64(x), nil
		}
		return v, nil
	}
	// Strings, timestamps and anything else keep their text.
	return n.Value, nil
}

func isNullNode(n *yaml.Node) bool {
	if n.Kind == yaml.DocumentNode {
		return len(n.Content) == 0 || isNullNode(n.Content[0])
	}
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.AliasNode:
		return "alias"
	}
	return "single value"
}

// mergeValues merges src over dst like `helm -f a.yaml -f b.yaml`: mappings merge key by key,
// anything else (lists included) is replaced, and null removes the key.
func mergeValues(dst, src map[string]any) {
	for k, sv := range src {
		if sv == nil {
			delete(dst, k)
			continue
		}
		sm, sIsMap := sv.(map[string]any)
		dm, dIsMap := dst[k].(map[string]any)
		if sIsMap && dIsMap {
			mergeValues(dm, sm)
			continue
		}
		dst[k] = sv
	}
}

// displayPath joins path segments the way field paths print: a.b[0].c.
func displayPath(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		if b.Len() > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}
