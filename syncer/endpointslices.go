package syncer

import (
	"context"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"vkube.io/vkube/syncer/translate"
)

const (
	// endpointSliceController manages the slices of Services with a selector; the host's own
	// makes those from the host pods, so the virtual ones are not synced.
	endpointSliceController = "endpointslice-controller.k8s.io"
	// endpointSliceSyncer manages the host twins of virtual slices: the host's endpointslice and
	// mirroring controllers leave a slice managed by someone else alone. It differs from the
	// "vkube.io" of the control plane's own API slice, which isolation lets pods reach.
	endpointSliceSyncer = "syncer.vkube.io"
)

// endpointSlices syncs the EndpointSlices of virtual Services without a selector, whose
// endpoints the tenant manages: an Endpoints object (mirrored into slices by the virtual
// EndpointSliceMirroring controller) or slices of their own. The host twin of such a Service
// has no selector either, so nothing on the host would give it endpoints.
// Their addresses are the tenant's word, so each must be one the tenant may point the host at
// (endpointaddresses.go); the others are dropped with a SyncError event on the virtual slice.
type endpointSlices struct {
	tctx     translate.Context
	services corelisters.ServiceLister
	// slices lists the virtual slices, to re-evaluate a Service's slices when it changes.
	slices cache.GenericLister
	// byAddress is the virtual slices' cache indexed by address, to re-evaluate the slices
	// naming a host pod's IP when it changes.
	byAddress cache.Indexer
	addresses *endpointAddresses
	errors    *syncErrors
}

// maxAddressEvents bounds the events one reconcile records about a slice's dropped addresses.
const maxAddressEvents = 10

func (endpointSlices) gvr() schema.GroupVersionResource {
	return discoveryv1.SchemeGroupVersion.WithResource("endpointslices")
}

func (r endpointSlices) toHost(ctx context.Context, v *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	service := v.GetLabels()[discoveryv1.LabelServiceName]
	if service == "" || v.GetLabels()[discoveryv1.LabelManagedBy] == endpointSliceController {
		return nil, true, nil
	}
	svc, err := r.services.Services(v.GetNamespace()).Get(service)
	if apierrors.IsNotFound(err) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	if len(svc.Spec.Selector) > 0 || !hasHostTwin(svc) {
		return nil, true, nil
	}
	h := r.hostSlice(v)
	dropped := r.addresses.keepInSlice(h)
	ref := corev1.ObjectReference{Kind: "EndpointSlice", APIVersion: discoveryv1.SchemeGroupVersion.String(), Namespace: v.GetNamespace(),
		Name: v.GetName(), UID: v.GetUID(), ResourceVersion: v.GetResourceVersion()}
	for i, why := range dropped {
		if i == maxAddressEvents {
			break
		}
		r.errors.record(ctx, ref, why)
	}
	return h, false, nil
}

// hostSlice translates a virtual slice: it belongs to the host twin of its Service, and its
// endpoints' pod references name the host pods (any other reference means nothing on the host).
func (r endpointSlices) hostSlice(v *unstructured.Unstructured) *unstructured.Unstructured {
	ns := v.GetNamespace()
	h := r.tctx.HostObject(v)
	l := h.GetLabels()
	l[discoveryv1.LabelServiceName] = translate.HostName(v.GetLabels()[discoveryv1.LabelServiceName], ns, r.tctx.VCluster)
	l[discoveryv1.LabelManagedBy] = endpointSliceSyncer
	h.SetLabels(l)
	copyTopLevel(v, h)
	endpoints, _ := h.Object["endpoints"].([]any)
	for _, e := range endpoints {
		endpoint, ok := e.(map[string]any)
		if !ok {
			continue
		}
		ref, _ := endpoint["targetRef"].(map[string]any)
		if ref == nil {
			continue
		}
		kind, _ := ref["kind"].(string)
		name, _ := ref["name"].(string)
		if kind != "Pod" || name == "" {
			delete(endpoint, "targetRef")
			continue
		}
		podNS, _ := ref["namespace"].(string)
		if podNS == "" {
			podNS = ns
		}
		endpoint["targetRef"] = map[string]any{"kind": "Pod", "namespace": r.tctx.HostNamespace, "name": translate.HostName(name, podNS, r.tctx.VCluster)}
	}
	return h
}

func (endpointSlices) fromHost(context.Context, *unstructured.Unstructured, *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return nil, nil
}

// followServices re-evaluates a Service's slices whenever the Service changes: whether they
// are synced depends on it (its selector, its existence).
func (r endpointSlices) followServices(services cache.SharedIndexInformer, slices *controller) {
	enqueue := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		svc, ok := obj.(*corev1.Service)
		if !ok {
			return
		}
		list, err := r.slices.ByNamespace(svc.Namespace).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc.Name}))
		if err != nil {
			return
		}
		for _, s := range list {
			if m, ok := s.(metav1.Object); ok {
				slices.enqueue(objectKey(svc.Namespace, m.GetName()))
			}
		}
	}
	_, _ = services.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, o any) { enqueue(o) },
		DeleteFunc: enqueue,
	})
}

// followHostPods re-evaluates the slices naming an address whenever a host pod of this virtual
// cluster gains or loses it (as its IP, or as its node's): a pod deleted or finished frees its IP
// for another's pod, which a slice must then stop pointing at.
func (r endpointSlices) followHostPods(pods cache.SharedIndexInformer, slices *controller) {
	addresses := func(obj any) map[string]bool {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return nil
		}
		set := map[string]bool{}
		for _, ip := range podIPs(p) {
			set["pod "+ip] = true
		}
		for _, ip := range podHostIPs(p) {
			set["node "+ip] = true
		}
		return set
	}
	enqueue := func(changed map[string]bool) {
		for key := range changed {
			_, ip, _ := strings.Cut(key, " ")
			list, err := r.byAddress.ByIndex(indexEndpointAddress, ip)
			if err != nil {
				continue
			}
			for _, s := range list {
				if m, ok := s.(metav1.Object); ok {
					slices.enqueue(objectKey(m.GetNamespace(), m.GetName()))
				}
			}
		}
	}
	_, _ = pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) { enqueue(addresses(o)) },
		UpdateFunc: func(old, o any) {
			before, after := addresses(old), addresses(o)
			if maps.Equal(before, after) {
				return
			}
			enqueue(before)
			enqueue(after)
		},
		DeleteFunc: func(o any) { enqueue(addresses(o)) },
	})
}
