package syncer

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
)

// A virtual object that changed is synced before status flows back from the host: under a burst,
// the host twins are created first (a pod cannot run before), and the status of a host object
// that changed several times meanwhile is copied once. Host events, retries, the informers'
// initial lists and their periodic resyncs wait at the default priority, 0.
const toHostPriority = 1

var urgent = priorityqueue.AddOpts{Priority: new(int(toHostPriority))}

func newQueue(name string) priorityqueue.PriorityQueue[string] {
	return priorityqueue.New(name, func(o *priorityqueue.Opts[string]) {
		o.RateLimiter = workqueue.DefaultTypedControllerRateLimiter[string]()
	})
}

// priorityOf is the priority of a virtual event: toHost when it is news.
func priorityOf(news bool) int {
	if news {
		return toHostPriority
	}
	return 0
}

// isResync tells an informer's periodic resync (the same object again) from a change.
func isResync(old, obj any) bool {
	o, err1 := meta.Accessor(old)
	n, err2 := meta.Accessor(obj)
	return err1 == nil && err2 == nil && o.GetResourceVersion() == n.GetResourceVersion()
}
