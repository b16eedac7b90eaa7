package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// claimDataDir makes the data dir if it is missing and locks it. release(keep=false) leaves a
// dir this start made as it found it, none: a refused start must not leave an empty data dir
// that a later start would take for a cluster's.
func claimDataDir(dir string) (release func(keep bool), err error) {
	_, statErr := os.Stat(dir)
	created := os.IsNotExist(statErr)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	remove := func() {
		if created {
			_ = os.Remove(filepath.Join(dir, ".lock"))
			_ = os.Remove(dir)
		}
	}
	unlock, err := lockDataDir(dir)
	if err != nil {
		remove()
		return nil, err
	}
	return func(keep bool) {
		if !keep {
			remove()
		}
		unlock()
	}, nil
}

// lockDataDir takes an exclusive flock, so two supervisors never share a data dir; the kernel
// drops it when the process dies, so a killed vkube leaves no stale lock.
func lockDataDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir %s is in use by another vkube: stop it first or use another --data-dir", dir)
	}
	return func() { f.Close() }, nil
}
