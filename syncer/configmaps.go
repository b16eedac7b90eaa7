package syncer

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

func (configMaps) kind() string { return "ConfigMap" }

// syncs: kube-root-ca.crt is the virtual CA; pods get it through their token volume instead.
func (r configMaps) syncs(m metav1.Object) bool {
	return m.GetName() != "kube-root-ca.crt" && r.used(m.GetNamespace(), m.GetName())
}

func (r configMaps) toHost(_ context.Context, v *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
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

func (secrets) kind() string { return "Secret" }

func (r secrets) syncs(m metav1.Object) bool { return r.used(m.GetNamespace(), m.GetName()) }

func (r secrets) toHost(_ context.Context, v *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	if typ, _, _ := unstructured.NestedString(v.Object, "type"); typ == string(corev1.SecretTypeServiceAccountToken) {
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
