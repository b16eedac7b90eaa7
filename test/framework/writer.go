package framework

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Writer creates ConfigMaps, Services and Deployments (0 replicas) in turn and records each the
// API acknowledged, so that a test can check that failovers lose none (and that each Service got
// its host twin), and measures how long the API stopped answering.
type Writer struct {
	client    kubernetes.Interface
	namespace string
	mu        sync.Mutex
	acked     []Written
	failures  int
	// outages are the spans between the last acknowledged write before failures and the first after.
	outages  []time.Duration
	failedAt time.Time
	lastOK   time.Time
	cancel   context.CancelFunc
	done     chan struct{}
}

// StartWriter writes every interval until Stop.
func StartWriter(c kubernetes.Interface, namespace string, interval time.Duration) *Writer {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Writer{client: c, namespace: namespace, cancel: cancel, done: make(chan struct{})}
	go w.run(ctx, interval)
	return w
}

func (w *Writer) run(ctx context.Context, interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	// Names of earlier writers in the same namespace must not collide with this one's.
	prefix := fmt.Sprintf("w%x-", time.Now().UnixNano()&0xffffff)
	for i := 0; ; i++ {
		name := fmt.Sprintf("%s%06d", prefix, i)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		written, err := w.write(cctx, i, name)
		cancel()
		now := time.Now()
		w.mu.Lock()
		if err == nil {
			w.acked = append(w.acked, written)
			if !w.failedAt.IsZero() {
				w.outages = append(w.outages, now.Sub(w.lastOK))
				w.failedAt = time.Time{}
			}
			w.lastOK = now
		} else if ctx.Err() == nil {
			w.failures++
			if w.failedAt.IsZero() {
				w.failedAt = now
			}
		}
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Written is one acknowledged write.
type Written struct {
	Kind, Name string
	// ClusterIP is the one the API gave a Service.
	ClusterIP string
}

// write creates the i-th object: a ConfigMap, a Service or a Deployment, in turn.
func (w *Writer) write(ctx context.Context, i int, name string) (Written, error) {
	labels := map[string]string{"app": name}
	switch i % 3 {
	case 1:
		svc, err := w.client.CoreV1().Services(w.namespace).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
		if err != nil {
			return Written{}, err
		}
		return Written{Kind: "Service", Name: name, ClusterIP: svc.Spec.ClusterIP}, nil
	case 2:
		_, err := w.client.AppsV1().Deployments(w.namespace).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(0)), Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.local/pause:v1"}}}}}}, metav1.CreateOptions{})
		return Written{Kind: "Deployment", Name: name}, err
	}
	_, err := w.client.CoreV1().ConfigMaps(w.namespace).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"i": fmt.Sprint(i)}}, metav1.CreateOptions{})
	return Written{Kind: "ConfigMap", Name: name}, err
}

// AckedOf is how many writes of kind were acknowledged so far.
func (w *Writer) AckedOf(kind string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, a := range w.acked {
		if a.Kind == kind {
			n++
		}
	}
	return n
}

// Services are the acknowledged Services.
func (w *Writer) Services() []Written {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Written
	for _, a := range w.acked {
		if a.Kind == "Service" {
			out = append(out, a)
		}
	}
	return out
}

// Stop ends the writes.
func (w *Writer) Stop() {
	w.cancel()
	<-w.done
}

// Acked is how many writes were acknowledged so far.
func (w *Writer) Acked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// Outages are the API unavailability spans seen so far.
func (w *Writer) Outages() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.outages...)
}

// Lost lists acknowledged writes (Kind/name) that a LIST through c no longer shows.
func (w *Writer) Lost(ctx context.Context, c kubernetes.Interface) ([]string, error) {
	w.mu.Lock()
	acked := append([]Written(nil), w.acked...)
	w.mu.Unlock()
	have := map[string]bool{}
	cms, err := c.CoreV1().ConfigMaps(w.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, o := range cms.Items {
		have["ConfigMap/"+o.Name] = true
	}
	svcs, err := c.CoreV1().Services(w.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, o := range svcs.Items {
		have["Service/"+o.Name] = true
	}
	deps, err := c.AppsV1().Deployments(w.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, o := range deps.Items {
		have["Deployment/"+o.Name] = true
	}
	var lost []string
	for _, a := range acked {
		if k := a.Kind + "/" + a.Name; !have[k] {
			lost = append(lost, k)
		}
	}
	sort.Strings(lost)
	return lost, nil
}
