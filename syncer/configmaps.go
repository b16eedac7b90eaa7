package syncer

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"vkube.io/vkube/syncer/translate"
)

// configMaps syncs the ConfigMaps that virtual pods use (volumes, env, envFrom, projections).
type configMaps struct {
	tctx translate.Context
	used func(namespace, name string) bool
}

func (configMaps) gvr() schema.GroupVersionResource {
	return corev1.SchemeGroupVersion.WithResource("configmaps")
}

func (r configMaps) toHost(_ context.Context, v *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	// kube-root-ca.crt is the virtual CA; pods get it through their token volume instead.
	if v.GetName() == "kube-root-ca.crt" || !r.used(v.GetNamespace(), v.GetName()) {
		return nil, true, nil
	}
	h := r.tctx.HostObject(v)
	for _, f := range []string{"data", "binaryData", "immutable"} {
		if val, ok := v.Object[f]; ok {
			h.Object[f] = runtime.DeepCopyJSONValue(val)
		}
	}
	return h, false, nil
}

func (configMaps) fromHost(context.Context, *unstructured.Unstructured, *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return nil, nil
}

// secrets syncs the Secrets that virtual pods use; service-account token Secrets of the virtual
// cluster stay there (pods get tokens minted for them instead).
type secrets struct {
	tctx translate.Context
	used func(namespace, name string) bool
}

func (secrets) gvr() schema.GroupVersionResource {
	return corev1.SchemeGroupVersion.WithResource("secrets")
}

func (r secrets) toHost(_ context.Context, v *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	typ, _, _ := unstructured.NestedString(v.Object, "type")
	if typ == string(corev1.SecretTypeServiceAccountToken) || !r.used(v.GetNamespace(), v.GetName()) {
		return nil, true, nil
	}
	h := r.tctx.HostObject(v)
	for _, f := range []string{"data", "type", "immutable"} {
		if val, ok := v.Object[f]; ok {
			h.Object[f] = runtime.DeepCopyJSONValue(val)
		}
	}
	return h, false, nil
}

func (secrets) fromHost(context.Context, *unstructured.Unstructured, *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return nil, nil
}
