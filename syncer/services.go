package syncer

import (
	"context"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"vkube.io/vkube/syncer/translate"
)

// services syncs Services; the virtual Service carries its host twin's ClusterIP (the write-path
// webhook creates the twin first and copies the IP in). What of the spec reaches the host is
// reviewed first (servicereview.go).
type services struct {
	tctx translate.Context
	// externalIPs is policies.hostAccess.externalIPCIDRs: what spec.externalIPs and
	// spec.loadBalancerIP may claim on the host.
	externalIPs []netip.Prefix
	// errors records what the review kept from the host (nil in the webhook, which refuses).
	errors *syncErrors
}

func (services) gvr() schema.GroupVersionResource {
	return corev1.SchemeGroupVersion.WithResource("services")
}

func (r services) toHost(ctx context.Context, v *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	if !hasHostTwin(v) {
		return nil, true, nil
	}
	var svc corev1.Service
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(v.Object, &svc); err != nil {
		return nil, false, err
	}
	// One the webhook did not see (created while it was away) is synced without what it may
	// not have on the host.
	if errs := reviewService(&svc, r.externalIPs); len(errs) > 0 {
		r.errors.record(ctx, corev1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: svc.Namespace, Name: svc.Name,
			UID: svc.UID, ResourceVersion: svc.ResourceVersion}, reviewMessage(errs))
	}
	h, err := r.hostService(&svc)
	if err != nil {
		return nil, false, err
	}
	return h, false, nil
}

// hasHostTwin: the virtual default/kubernetes Service points at the virtual apiserver, and a
// replicated host Service is the host's own: neither gets a twin.
func hasHostTwin(svc metav1.Object) bool {
	return !(svc.GetNamespace() == "default" && svc.GetName() == "kubernetes") && svc.GetAnnotations()[AnnotationReplicatedFrom] == ""
}

// hostService translates a typed virtual Service (also used by the write-path webhook).
func (r services) hostService(svc *corev1.Service) (*unstructured.Unstructured, error) {
	spec := svc.Spec.DeepCopy()
	hostServiceSpec(spec, r.externalIPs)
	if len(spec.Selector) > 0 {
		spec.Selector = r.tctx.HostLabels(svc.Namespace, spec.Selector)
	}
	if spec.ClusterIP != corev1.ClusterIPNone {
		// The host allocates (the webhook then copies its choice into the virtual Service);
		// a Service created while the webhook was away asks the host for its virtual IP.
		spec.ClusterIPs = nil
		if spec.ClusterIP != "" {
			spec.ClusterIPs = []string{spec.ClusterIP}
		}
	}
	specMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(spec)
	if err != nil {
		return nil, err
	}
	vu, err := runtime.DefaultUnstructuredConverter.ToUnstructured(svc)
	if err != nil {
		return nil, err
	}
	v := &unstructured.Unstructured{Object: vu}
	v.SetAPIVersion("v1")
	v.SetKind("Service")
	h := r.tctx.HostObject(v)
	ann := h.GetAnnotations()
	hostServiceAnnotations(ann, r.externalIPs)
	h.SetAnnotations(ann)
	h.Object["spec"] = specMap
	return h, nil
}

// forUpdate keeps what the host allocated and does not let change.
func (services) forUpdate(desired, live *unstructured.Unstructured) *unstructured.Unstructured {
	u := desired.DeepCopy()
	for _, f := range []string{"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"} {
		if val, ok, _ := unstructured.NestedFieldCopy(live.Object, "spec", f); ok {
			_ = unstructured.SetNestedField(u.Object, val, "spec", f)
		}
	}
	return u
}

// fromHost copies the host's load-balancer status (what `--expose` users wait for).
func (services) fromHost(_ context.Context, host, v *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return copyStatus(host, v), nil
}
