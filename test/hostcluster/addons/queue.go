package addons

import (
	"context"
	"log/slog"

	"k8s.io/client-go/util/workqueue"
)

// queue runs one worker over string keys with the controller rate limiter: one worker, so a
// controller never races itself over the addresses or directories it hands out.
type queue struct {
	name   string
	q      workqueue.TypedRateLimitingInterface[string]
	logger *slog.Logger
}

func newQueue(name string, logger *slog.Logger) *queue {
	return &queue{
		name:   name,
		q:      workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: name}),
		logger: logger,
	}
}

func (q *queue) add(key string) { q.q.Add(key) }

func (q *queue) run(ctx context.Context, sync func(ctx context.Context, key string) error) {
	go func() {
		<-ctx.Done()
		q.q.ShutDown()
	}()
	for {
		key, shutdown := q.q.Get()
		if shutdown {
			return
		}
		if err := sync(ctx, key); err != nil {
			q.logger.Warn("sync failed, retrying", "controller", q.name, "key", key, "err", err)
			q.q.AddRateLimited(key)
		} else {
			q.q.Forget(key)
		}
		q.q.Done(key)
	}
}
