package process

import (
	"context"
	"time"
)

// Probe intervals. Readiness drives failover and the restart benchmark, so the probe is short;
// until the running child first serves it is shorter still: a start or a restart is done the
// moment the child answers, and at 250 ms the supervisor saw that 125 ms late on average. A
// child not listening yet refuses at once, and a starting API server answers /readyz from its
// own state, so the faster probes of those two seconds cost little.
const (
	probeInterval         = 250 * time.Millisecond
	probeIntervalStarting = 50 * time.Millisecond
)

func (c *Child) probe(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	readyClosed := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		healthy := false
		if c.PID() != 0 {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			healthy = c.spec.Healthy(pctx) == nil
			cancel()
		}
		c.mu.Lock()
		c.healthy = healthy && c.pid != 0
		if c.healthy {
			c.servedThisRun = true
		}
		served := c.servedThisRun
		c.mu.Unlock()
		if healthy && !readyClosed {
			close(c.ready)
			readyClosed = true
		}
		if served {
			t.Reset(probeInterval)
		} else {
			t.Reset(probeIntervalStarting)
		}
	}
}
