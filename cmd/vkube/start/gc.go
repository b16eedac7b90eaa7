package start

import (
	"os"
	"runtime/debug"
)

// supervisorGOGC is the supervisor's collector target unless vkube's environment sets GOGC. Its
// heap at idle is mostly long-lived: the syncer's informer caches and the embedded datastore's
// state. With Go's default of 100 the heap grows to twice that before each collection, and the
// runtime keeps what it grew to, which was most of an idle cluster's RSS above the live heap:
// with 1000 pods and 10000 ConfigMaps and Secrets, 150 MiB at 100 and 134 MiB at 50, for idle
// CPU within the noise (1.71 and 1.74 CPU-s/min). It is the trade the control-plane children
// make (distro's goRuntimeEnv, the API server's GOGC=50): a GOGC costs collections in proportion
// to the live heap, where a fixed GOMEMLIMIT would have a large tenant's collector run flat out.
const supervisorGOGC = 50

// tuneGC sets supervisorGOGC, unless GOGC is set (the Go runtime has read it already). Children
// keep their own: their drivers' GOGC wins over the inherited one.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	debug.SetGCPercent(supervisorGOGC)
}
