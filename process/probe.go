package process

import (
	"context"
	"time"
)

// probeInterval is short because readiness drives failover and the restart benchmark.
const probeInterval = 250 * time.Millisecond

func (c *Child) probe(ctx context.Context) {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	readyClosed := false
	for {
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
		c.mu.Unlock()
		if healthy && !readyClosed {
			close(c.ready)
			readyClosed = true
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
