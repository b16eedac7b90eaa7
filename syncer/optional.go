package syncer

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"vkube.io/vkube/syncer/translate"
)

// The kinds synced only when asked (sync.toHost.<kind>.enabled): each references pods by label
// selector or other objects by name, and both are translated.

// ingresses syncs Ingresses; backends name the host twins of the virtual Services and TLS
// Secrets, and the load-balancer status comes back.
type ingresses struct{ tctx translate.Context }

func (ingresses) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}
}

func (r ingresses) toHost(_ context.Context, v *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	h := r.tctx.HostObject(v)
	spec, _, _ := unstructured.NestedMap(v.Object, "spec")
	spec = runtime.DeepCopyJSON(spec)
	ns := v.GetNamespace()
	rename := func(m map[string]any, path ...string) {
		if name, ok, _ := unstructured.NestedString(m, path...); ok && name != "" {
			_ = unstructured.SetNestedField(m, translate.HostName(name, ns, r.tctx.VCluster), path...)
		}
	}
	rename(spec, "defaultBackend", "service", "name")
	if tls, ok := spec["tls"].([]any); ok {
		for _, t := range tls {
			if m, ok := t.(map[string]any); ok {
				rename(m, "secretName")
			}
		}
	}
	if rules, ok := spec["rules"].([]any); ok {
		for _, rule := range rules {
			paths, _, _ := unstructured.NestedSlice(rule.(map[string]any), "http", "paths")
			for _, p := range paths {
				rename(p.(map[string]any), "backend", "service", "name")
			}
			if len(paths) > 0 {
				_ = unstructured.SetNestedSlice(rule.(map[string]any), paths, "http", "paths")
			}
		}
	}
	h.Object["spec"] = spec
	return h, false, nil
}

func (ingresses) fromHost(_ context.Context, host, v *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return copyStatus(host, v), nil
}

// podDisruptionBudgets syncs PDBs with their selector narrowed to this virtual namespace's pods.
type podDisruptionBudgets struct{ tctx translate.Context }

func (podDisruptionBudgets) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}
}

func (r podDisruptionBudgets) toHost(_ context.Context, v *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	h := r.tctx.HostObject(v)
	spec, _, _ := unstructured.NestedMap(v.Object, "spec")
	spec = runtime.DeepCopyJSON(spec)
	if sel, ok := spec["selector"].(map[string]any); ok {
		spec["selector"] = r.selector(v.GetNamespace(), sel)
	}
	h.Object["spec"] = spec
	return h, false, nil
}

func (podDisruptionBudgets) fromHost(_ context.Context, host, v *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return copyStatus(host, v), nil
}

func (r podDisruptionBudgets) selector(ns string, sel map[string]any) map[string]any {
	return narrowSelector(r.tctx, ns, sel)
}

// networkPolicies syncs NetworkPolicies: pod selectors are narrowed to the virtual namespace's
// twins, and peers selected by namespace name become the twins of that virtual namespace.
type networkPolicies struct{ tctx translate.Context }

func (networkPolicies) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}
}

func (r networkPolicies) toHost(_ context.Context, v *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	h := r.tctx.HostObject(v)
	spec, _, _ := unstructured.NestedMap(v.Object, "spec")
	spec = runtime.DeepCopyJSON(spec)
	ns := v.GetNamespace()
	if sel, ok := spec["podSelector"].(map[string]any); ok {
		spec["podSelector"] = narrowSelector(r.tctx, ns, sel)
	}
	for _, dir := range []struct{ rules, peers string }{{"ingress", "from"}, {"egress", "to"}} {
		rules, _ := spec[dir.rules].([]any)
		for _, rule := range rules {
			peers, _ := rule.(map[string]any)[dir.peers].([]any)
			for i, p := range peers {
				peers[i] = r.peer(ns, p.(map[string]any))
			}
		}
	}
	h.Object["spec"] = spec
	return h, false, nil
}

func (r networkPolicies) peer(ns string, p map[string]any) map[string]any {
	if _, ok := p["ipBlock"]; ok {
		return p
	}
	target := ns
	if nsSel, ok := p["namespaceSelector"].(map[string]any); ok {
		name, _, _ := unstructured.NestedString(nsSel, "matchLabels", "kubernetes.io/metadata.name")
		target = name
		delete(p, "namespaceSelector")
	}
	sel, _ := p["podSelector"].(map[string]any)
	if sel == nil {
		sel = map[string]any{}
	}
	if target == "" {
		// Any virtual namespace: every pod of this virtual cluster.
		ml, _, _ := unstructured.NestedStringMap(sel, "matchLabels")
		if ml == nil {
			ml = map[string]string{}
		}
		ml[translate.LabelManagedBy] = r.tctx.VCluster
		sel["matchLabels"] = toAnyMap(ml)
		p["podSelector"] = sel
		return p
	}
	p["podSelector"] = narrowSelector(r.tctx, target, sel)
	return p
}

func (networkPolicies) fromHost(context.Context, *unstructured.Unstructured, *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return nil, nil
}

// narrowSelector adds the markers of one virtual namespace to a label selector.
func narrowSelector(tctx translate.Context, ns string, sel map[string]any) map[string]any {
	out := runtime.DeepCopyJSON(sel)
	ml, _, _ := unstructured.NestedStringMap(out, "matchLabels")
	out["matchLabels"] = toAnyMap(tctx.HostLabels(ns, ml))
	return out
}

func toAnyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func copyStatus(host, v *unstructured.Unstructured) *unstructured.Unstructured {
	hs, _, _ := unstructured.NestedFieldCopy(host.Object, "status")
	vs, _, _ := unstructured.NestedFieldCopy(v.Object, "status")
	if hs == nil || equalJSON(hs, vs) {
		return nil
	}
	out := v.DeepCopy()
	out.Object["status"] = hs
	return out
}
