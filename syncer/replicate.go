package syncer

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/syncer/translate"
)

// AnnotationReplicatedFrom marks a virtual Service that mirrors a host Service; such a Service
// gets no host twin of its own.
const AnnotationReplicatedFrom = "vkube.io/replicated-from"

// ServiceMapping maps "namespace/name" From to "namespace/name" To.
type ServiceMapping struct{ From, To string }

// replicator mirrors Services across the boundary (vcluster's mapServices): fromHost puts a host
// Service's ClusterIP into the virtual cluster under another name; toHost gives a virtual Service
// a host Service whose endpoints are the virtual endpoints (pod IPs are the same on both sides).
// Those endpoints are the tenant's word like a selectorless slice's: an address the tenant may
// not point the host at is dropped, with a SyncError event on the virtual Service.
type replicator struct {
	virtual, host    kubernetes.Interface
	fromHost, toHost []ServiceMapping
	vcluster, hostNS string
	addresses        *endpointAddresses
	errors           *syncErrors
	log              *slog.Logger
}

func (r *replicator) run(ctx context.Context) {
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		for _, m := range r.fromHost {
			if err := r.mirrorIntoVirtual(ctx, m); err != nil {
				r.log.Info("replicating a host service", "from", m.From, "to", m.To, "error", err)
			}
		}
		for _, m := range r.toHost {
			if err := r.mirrorIntoHost(ctx, m); err != nil {
				r.log.Info("replicating a virtual service", "from", m.From, "to", m.To, "error", err)
			}
		}
	}, 3*time.Second)
}

func (r *replicator) mirrorIntoVirtual(ctx context.Context, m ServiceMapping) error {
	fns, fname, tns, tname, err := m.refs()
	if err != nil {
		return err
	}
	src, err := r.host.CoreV1().Services(fns).Get(ctx, fname, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if _, err := r.virtual.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	want := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: tname, Namespace: tns, Annotations: map[string]string{AnnotationReplicatedFrom: "host:" + m.From}},
		Spec:       corev1.ServiceSpec{ClusterIP: src.Spec.ClusterIP, Ports: stripNodePorts(src.Spec.Ports)},
	}
	return r.apply(ctx, r.virtual, want)
}

func (r *replicator) mirrorIntoHost(ctx context.Context, m ServiceMapping) error {
	fns, fname, tns, tname, err := m.refs()
	if err != nil {
		return err
	}
	src, err := r.virtual.CoreV1().Services(fns).Get(ctx, fname, metav1.GetOptions{})
	if err != nil {
		return err
	}
	want := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: tname, Namespace: tns, Labels: map[string]string{translate.LabelManagedBy: r.vcluster},
			Annotations: map[string]string{AnnotationReplicatedFrom: "virtual:" + m.From}},
		Spec: corev1.ServiceSpec{Ports: stripNodePorts(src.Spec.Ports)},
	}
	if err := r.apply(ctx, r.host, want); err != nil {
		return err
	}
	slices, err := r.virtual.DiscoveryV1().EndpointSlices(fns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + fname})
	if err != nil {
		return err
	}
	mirror := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: tname + "-vkube", Namespace: tns, Labels: map[string]string{discoveryv1.LabelServiceName: tname, discoveryv1.LabelManagedBy: "vkube.io", translate.LabelManagedBy: r.vcluster}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	ref := corev1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: src.Namespace, Name: src.Name, UID: src.UID, ResourceVersion: src.ResourceVersion}
	events := 0
	for _, s := range slices.Items {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, e := range s.Endpoints {
			kept, dropped := r.addresses.keep(e.Addresses)
			for _, why := range dropped {
				if events < maxAddressEvents {
					r.errors.record(ctx, ref, why)
					events++
				}
			}
			if len(kept) > 0 {
				mirror.Endpoints = append(mirror.Endpoints, discoveryv1.Endpoint{Addresses: kept, Conditions: e.Conditions})
			}
		}
		if mirror.Ports == nil {
			mirror.Ports = s.Ports
		}
	}
	api := r.host.DiscoveryV1().EndpointSlices(tns)
	live, err := api.Get(ctx, mirror.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, mirror, metav1.CreateOptions{})
		return err
	case err != nil:
		return err
	case live.Labels[translate.LabelManagedBy] != r.vcluster:
		return errNotOwned(tns + "/" + mirror.Name)
	case equalJSON(live.Endpoints, mirror.Endpoints) && equalJSON(live.Ports, mirror.Ports):
		return nil
	}
	live.Endpoints, live.Ports = mirror.Endpoints, mirror.Ports
	_, err = api.Update(ctx, live, metav1.UpdateOptions{})
	return err
}

// apply creates want or brings the ports and IP of a Service it created before up to date; a
// Service it did not create is left alone.
func (r *replicator) apply(ctx context.Context, c kubernetes.Interface, want *corev1.Service) error {
	api := c.CoreV1().Services(want.Namespace)
	live, err := api.Get(ctx, want.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, want, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	if live.Annotations[AnnotationReplicatedFrom] != want.Annotations[AnnotationReplicatedFrom] {
		return errNotOwned(want.Namespace + "/" + want.Name)
	}
	if equalJSON(live.Spec.Ports, want.Spec.Ports) && (want.Spec.ClusterIP == "" || live.Spec.ClusterIP == want.Spec.ClusterIP) {
		return nil
	}
	if want.Spec.ClusterIP != "" && live.Spec.ClusterIP != want.Spec.ClusterIP {
		// A ClusterIP cannot change: the mirror is recreated with the source's new IP.
		if err := api.Delete(ctx, want.Name, metav1.DeleteOptions{}); err != nil {
			return err
		}
		_, err = api.Create(ctx, want, metav1.CreateOptions{})
		return err
	}
	live.Spec.Ports = want.Spec.Ports
	_, err = api.Update(ctx, live, metav1.UpdateOptions{})
	return err
}

func stripNodePorts(ports []corev1.ServicePort) []corev1.ServicePort {
	out := make([]corev1.ServicePort, len(ports))
	for i, p := range ports {
		p.NodePort = 0
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		out[i] = p
	}
	return out
}

// refs splits From and To into namespace and name.
func (m ServiceMapping) refs() (fromNS, fromName, toNS, toName string, err error) {
	if fromNS, fromName, err = splitRef(m.From); err != nil {
		return
	}
	toNS, toName, err = splitRef(m.To)
	return
}

func splitRef(ref string) (string, string, error) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" {
		return "", "", fmt.Errorf("service reference %q is not NAMESPACE/NAME", ref)
	}
	return ns, name, nil
}
