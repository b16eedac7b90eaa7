package supervisor

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"vkube.io/vkube/distro"
	"vkube.io/vkube/pageout"
	"vkube.io/vkube/process"
)

// settleBeforePageOut is how long a process runs before its start-up code is paged out: long
// enough for its init functions, informers' first lists and first requests to be done with.
const settleBeforePageOut = time.Minute

var pagedOutBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "vkube_paged_out_bytes_total",
	Help: "Resident executable pages given back to the kernel once a process had settled.",
}, []string{"component"})

// pagingOut is one process waiting for its page-out: seen first at since.
type pagingOut struct {
	pid   int
	since time.Time
	done  bool
}

// pageOutStartupCode pages out, once per process incarnation, the executable pages that vkube
// and each control-plane child touched only while starting, a minute after the process started
// and while it runs healthy. Without the permission (CAP_SYS_NICE for another process, ownership
// of the binary) it says so once and stops.
func (s *Supervisor) pageOutStartupCode(ctx context.Context, cp *distro.ControlPlane) {
	log := s.opts.Logger
	seen := map[string]*pagingOut{"vkube": {pid: os.Getpid(), since: time.Now()}}
	tick := time.NewTicker(settleBeforePageOut / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		healthy := map[string]int{"vkube": os.Getpid()}
		for _, c := range cp.Children() {
			if running(c) {
				healthy[c.Name()] = c.PID()
			}
		}
		for name, pid := range healthy {
			p := seen[name]
			if p == nil || p.pid != pid {
				seen[name] = &pagingOut{pid: pid, since: now}
				continue
			}
			if p.done || now.Sub(p.since) < settleBeforePageOut {
				continue
			}
			p.done = true
			freed, err := pageout.Executable(pid)
			if errors.Is(err, os.ErrPermission) {
				log.Info("not paging out the control plane's start-up code: not permitted here", "reason", err.Error())
				return
			}
			if err != nil {
				log.Warn("paging out start-up code", "component", name, "err", err)
				continue
			}
			pagedOutBytes.WithLabelValues(name).Add(float64(freed))
			log.Info("paged out start-up code", "component", name, "MiB", freed>>20)
		}
	}
}

// running: the child is up and, if it has a health probe, passes it.
func running(c *process.Child) bool {
	select {
	case <-c.Ready():
	default:
		return false
	}
	return c.PID() != 0 && (!c.Probed() || c.Healthy())
}
