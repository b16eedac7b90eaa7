package syncer

import (
	"errors"
	"fmt"
)

var (
	// errRequeue asks for another reconcile soon without counting a failure.
	errRequeue = errors.New("requeue")
	// errSkipFinished: a finished pod is left as it is.
	errSkipFinished = errors.New("pod finished")
	// errNotScheduled: the virtual scheduler has not placed the pod yet; its binding will
	// bring it back.
	errNotScheduled = errors.New("pod not scheduled yet")
)

func errNotOwned(name string) error {
	return fmt.Errorf("host object %s exists and is not managed by this virtual cluster", name)
}
