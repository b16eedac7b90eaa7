package backend

import (
	"context"
	"fmt"
	"net"
	"time"
)

// lifecycle is the ready/err/stop shape every backend shares.
type lifecycle struct {
	ready   chan struct{}
	errc    chan error
	stopped chan struct{}
	cancel  context.CancelFunc
}

func newLifecycle() lifecycle {
	return lifecycle{ready: make(chan struct{}), errc: make(chan error, 1), stopped: make(chan struct{})}
}

func (l *lifecycle) Ready() <-chan struct{} { return l.ready }
func (l *lifecycle) Err() <-chan error      { return l.errc }

func (l *lifecycle) Stop(ctx context.Context) error {
	l.cancel()
	select {
	case <-l.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopping backend: %w", ctx.Err())
	}
}

func dialOnce(ctx context.Context, network, addr string) error {
	if network == "" {
		network = "tcp"
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
