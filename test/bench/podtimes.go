package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"vkube.io/vkube/syncer/translate"
)

// podTimes watches pods through an informer and notes when each was first seen and first seen
// Running, keyed by the virtual namespace/name (from a host twin's annotations) or, for pods
// that are nobody's twin, their own namespace/name.
type podTimes struct {
	mu      sync.Mutex
	seen    map[string]time.Time
	running map[string]time.Time
	store   cache.Store
	stop    context.CancelFunc
}

// watchPods starts an informer on the pods of namespace ("" for all) and returns once it has
// synced; stop ends it.
func watchPods(ctx context.Context, cs kubernetes.Interface, namespace string) (*podTimes, error) {
	ctx, cancel := context.WithCancel(ctx)
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace))
	inf := f.Core().V1().Pods().Informer()
	t := &podTimes{seen: map[string]time.Time{}, running: map[string]time.Time{}, store: inf.GetStore(), stop: cancel}
	note := func(obj any) {
		now := time.Now()
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		key := podKey(p)
		t.mu.Lock()
		defer t.mu.Unlock()
		if _, ok := t.seen[key]; !ok {
			t.seen[key] = now
		}
		if _, ok := t.running[key]; !ok && p.Status.Phase == corev1.PodRunning {
			t.running[key] = now
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: note, UpdateFunc: func(_, o any) { note(o) }}); err != nil {
		cancel()
		return nil, err
	}
	f.Start(ctx.Done())
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			cancel()
			return nil, fmt.Errorf("pod informer (%v) did not sync", typ)
		}
	}
	return t, nil
}

func podKey(p *corev1.Pod) string {
	if name := p.Annotations[translate.AnnotationName]; name != "" {
		return p.Annotations[translate.AnnotationNamespace] + "/" + name
	}
	return p.Namespace + "/" + p.Name
}

// forget drops what was noted of keys, so that a later phase may reuse the names.
func (t *podTimes) forget(keys []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.seen, k)
		delete(t.running, k)
	}
}

// times returns the noted times of keys (zero when not yet).
func (t *podTimes) times(keys []string, running bool) []time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.seen
	if running {
		m = t.running
	}
	out := make([]time.Time, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// wait polls until every key was seen (or seen Running), up to timeout.
func (t *podTimes) wait(ctx context.Context, keys []string, running bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		missing := 0
		for _, at := range t.times(keys, running) {
			if at.IsZero() {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		what := "seen"
		if running {
			what = "Running"
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d pods not %s within %s", missing, len(keys), what, timeout)
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// present counts the pods in the informer's store whose key is one of keys.
func (t *podTimes) present(keys []string) int {
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	n := 0
	for _, obj := range t.store.List() {
		if p, ok := obj.(*corev1.Pod); ok && want[podKey(p)] {
			n++
		}
	}
	return n
}

// waitGone polls until none of keys is in the store.
func (t *podTimes) waitGone(ctx context.Context, keys []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		n := t.present(keys)
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d pods still there after %s", n, len(keys), timeout)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// latencies summarises durations in milliseconds.
type latencies struct {
	N     int
	P50Ms float64
	P99Ms float64
	MaxMs float64
	// Ms are the samples in the order of the pods.
	Ms []float64
}

func summarise(d []time.Duration) latencies {
	l := latencies{N: len(d)}
	if len(d) == 0 {
		return l
	}
	for _, x := range d {
		l.Ms = append(l.Ms, math.Round(float64(x.Microseconds()))/1000)
	}
	s := append([]float64(nil), l.Ms...)
	sort.Float64s(s)
	l.P50Ms, l.P99Ms, l.MaxMs = percentile(s, 0.50), percentile(s, 0.99), s[len(s)-1]
	return l
}

// percentile of sorted samples, nearest rank.
func percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
