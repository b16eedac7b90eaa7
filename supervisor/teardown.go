package supervisor

import (
	"context"
	"errors"
	"sync"
)

// teardown undoes what the supervisor started, last started first. Each part records its undo
// the moment it has started, so a start refused half-way and a Stop of a running cluster take
// the same path.
type teardown struct {
	mu    sync.Mutex
	undos []func(context.Context) error
	done  bool
}

// push records how to undo a part that has just started. A part that comes up after the
// teardown ran (the background bring-up racing a Stop) is undone at once rather than left
// running.
func (t *teardown) push(undo func(context.Context) error) {
	t.mu.Lock()
	done := t.done
	if !done {
		t.undos = append(t.undos, undo)
	}
	t.mu.Unlock()
	if done {
		_ = undo(context.Background())
	}
}

// run undoes every recorded part in reverse order, once; later calls do nothing.
func (t *teardown) run(ctx context.Context) error {
	t.mu.Lock()
	undos := t.undos
	t.undos, t.done = nil, true
	t.mu.Unlock()
	var errs []error
	for i := len(undos) - 1; i >= 0; i-- {
		errs = append(errs, undos[i](ctx))
	}
	return errors.Join(errs...)
}
