package framework

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Writer creates ConfigMaps one after another and records each the API acknowledged, so that a
// test can check that failovers lose none, and measures how long the API stopped answering.
type Writer struct {
	client    kubernetes.Interface
	namespace string
	mu        sync.Mutex
	acked     []string
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
		_, err := w.client.CoreV1().ConfigMaps(w.namespace).Create(cctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"i": fmt.Sprint(i)}}, metav1.CreateOptions{})
		cancel()
		now := time.Now()
		w.mu.Lock()
		if err == nil {
			w.acked = append(w.acked, name)
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

// Lost lists acknowledged writes that a LIST through c no longer shows.
func (w *Writer) Lost(ctx context.Context, c kubernetes.Interface) ([]string, error) {
	w.mu.Lock()
	acked := append([]string(nil), w.acked...)
	w.mu.Unlock()
	list, err := c.CoreV1().ConfigMaps(w.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, cm := range list.Items {
		have[cm.Name] = true
	}
	var lost []string
	for _, n := range acked {
		if !have[n] {
			lost = append(lost, n)
		}
	}
	sort.Strings(lost)
	return lost, nil
}
