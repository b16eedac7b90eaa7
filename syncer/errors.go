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
)

func errNotOwned(name string) error {
	return fmt.Errorf("host object %s exists and is not managed by this virtual cluster", name)
}
