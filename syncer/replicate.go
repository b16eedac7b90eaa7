package syncer

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

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
//
// A mapping is reconciled when an object it reads or writes changes (informers), and on their
// periodic resync: a mirror the tenant edits or deletes comes back.
type replicator struct {
	virtual, host    kubernetes.Interface
	fromHost, toHost []ServiceMapping
	vcluster, hostNS string
	addresses        *endpointAddresses
	errors           *syncErrors
	log              *slog.Logger
	// queue holds mappings by index: fromHost's first, then toHost's.
	queue workqueue.TypedRateLimitingInterface[int]
	// sources watch each fromHost mapping's host Service, and only it.
	sources []informers.SharedInformerFactory
}

// replicatedObjects are the informers whose objects mappings read or write.
type replicatedObjects struct {
	virtualServices, virtualSlices, hostServices, hostSlices cache.SharedIndexInformer
}

func newReplicator(r *replicator, objs replicatedObjects) (*replicator, error) {
	var err error
	if r.toHost, err = hostMirrors(r.toHost, r.hostNS); err != nil {
		return nil, err
	}
	r.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[int](), workqueue.TypedRateLimitingQueueConfig[int]{Name: "replicator"})
	for i, m := range r.fromHost {
		ns, name, err := splitRef(m.From)
		if err != nil {
			return nil, err
		}
		f := informers.NewSharedInformerFactoryWithOptions(r.host, resync, informers.WithNamespace(ns),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + name }))
		if _, err := f.Core().V1().Services().Informer().AddEventHandler(r.enqueue(func(metav1.Object) []int { return []int{i} })); err != nil {
			return nil, err
		}
		r.sources = append(r.sources, f)
	}
	byName := func(touched func(ns, name string) []int) func(metav1.Object) []int {
		return func(o metav1.Object) []int { return touched(o.GetNamespace(), o.GetName()) }
	}
	byService := func(touched func(ns, name string) []int) func(metav1.Object) []int {
		return func(o metav1.Object) []int {
			return touched(o.GetNamespace(), o.GetLabels()[discoveryv1.LabelServiceName])
		}
	}
	for inf, touched := range map[cache.SharedIndexInformer]func(metav1.Object) []int{
		objs.virtualServices: byName(r.virtualService), objs.virtualSlices: byService(r.virtualService),
		objs.hostServices: byName(r.hostService), objs.hostSlices: byService(r.hostService),
	} {
		if _, err := inf.AddEventHandler(r.enqueue(touched)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// hostMirrors are the toHost mappings with each mirror named NAMESPACE/NAME: a bare name is in the
// host namespace, the only one vkube writes to, and another namespace is refused.
func hostMirrors(toHost []ServiceMapping, hostNS string) ([]ServiceMapping, error) {
	out := slices.Clone(toHost)
	for j, m := range out {
		ns, name, ok := strings.Cut(m.To, "/")
		switch {
		case !ok:
			out[j].To = hostNS + "/" + m.To
		case ns != hostNS:
			return nil, fmt.Errorf("networking.replicateServices.toHost[%d].to %q: the mirror goes in the host namespace %s, where vkube may write: use %s/%s or %s", j, m.To, hostNS, hostNS, name, name)
		}
	}
	return out, nil
}

// virtualService: the mappings a virtual Service is the mirror (fromHost) or the source (toHost) of.
func (r *replicator) virtualService(ns, name string) []int {
	var out []int
	for i, m := range r.fromHost {
		if m.To == ns+"/"+name {
			out = append(out, i)
		}
	}
	for j, m := range r.toHost {
		if m.From == ns+"/"+name {
			out = append(out, len(r.fromHost)+j)
		}
	}
	return out
}

// hostService: the toHost mappings a host Service is the mirror of.
func (r *replicator) hostService(ns, name string) []int {
	var out []int
	for j, m := range r.toHost {
		if m.To == ns+"/"+name {
			out = append(out, len(r.fromHost)+j)
		}
	}
	return out
}

// enqueue adds the mappings an object concerns.
func (r *replicator) enqueue(touched func(metav1.Object) []int) cache.ResourceEventHandler {
	add := func(o any) {
		if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		if m, err := meta.Accessor(o); err == nil {
			for _, i := range touched(m) {
				r.queue.Add(i)
			}
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, o any) { add(o) }, DeleteFunc: add}
}

func (r *replicator) run(ctx context.Context) {
	defer r.queue.ShutDown()
	for _, f := range r.sources {
		f.Start(ctx.Done())
		f.WaitForCacheSync(ctx.Done())
	}
	for i := range len(r.fromHost) + len(r.toHost) {
		r.queue.Add(i)
	}
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		for r.next(ctx) {
		}
	}, time.Second)
	<-ctx.Done()
}

func (r *replicator) next(ctx context.Context) bool {
	i, quit := r.queue.Get()
	if quit {
		return false
	}
	defer r.queue.Done(i)
	var err error
	var m ServiceMapping
	if i < len(r.fromHost) {
		m = r.fromHost[i]
		err = r.mirrorIntoVirtual(ctx, i)
	} else {
		m = r.toHost[i-len(r.fromHost)]
		err = r.mirrorIntoHost(ctx, m)
	}
	if err != nil {
		r.log.Info("replicating a service", "from", m.From, "to", m.To, "error", err)
		r.queue.AddRateLimited(i)
		return true
	}
	r.queue.Forget(i)
	return true
}

func (r *replicator) mirrorIntoVirtual(ctx context.Context, i int) error {
	m := r.fromHost[i]
	fns, fname, tns, tname, err := m.refs()
	if err != nil {
		return err
	}
	src, err := r.sources[i].Core().V1().Services().Lister().Services(fns).Get(fname)
	if apierrors.IsNotFound(err) {
		// Its informer brings the mapping back when the host Service appears.
		r.log.Info("mapped host service does not exist (yet)", "from", m.From, "to", m.To)
		return nil
	}
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
	virtualSlices, err := r.virtual.DiscoveryV1().EndpointSlices(fns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + fname})
	if err != nil {
		return err
	}
	mirror := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: tname + "-vkube", Namespace: tns, Labels: map[string]string{discoveryv1.LabelServiceName: tname, discoveryv1.LabelManagedBy: "vkube.io", translate.LabelManagedBy: r.vcluster}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	ref := corev1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: src.Namespace, Name: src.Name, UID: src.UID, ResourceVersion: src.ResourceVersion}
	events := 0
	for _, s := range virtualSlices.Items {
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
