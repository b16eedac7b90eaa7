package backend

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/k3s-io/kine/pkg/drivers"
	"github.com/k3s-io/kine/pkg/server"
)

// kine (v0.17.5) acknowledges a create that was never stored when its insert fails and the key
// is still absent: LogStructured.Create returns the nil error of its follow-up read, and the
// server answers the etcd transaction as succeeded. The database going away mid-insert does
// this, and the API server then tells its client the object was created. checkedCreates reads
// the key back after each create and turns a create that did not happen into an error.
//
// The revision kine answers is not always the create's own: a key created again after a delete
// goes through a second insert whose revision kine drops, answering its current revision instead,
// which can lag behind the insert or have moved past it. So a create counts as stored when the
// key, now or else as of that revision, was created with exactly this value (the API server's
// values carry a fresh UID), and the answer is the create's true revision.
type checkedCreates struct{ server.Backend }

func (b checkedCreates) Create(ctx context.Context, key string, value []byte, lease int64) (int64, error) {
	rev, err := b.Backend.Create(ctx, key, value, lease)
	if err != nil {
		return rev, err
	}
	// The usual case, without reading the value back: the key was created at the answered revision.
	if _, kv, err := b.Backend.Get(ctx, key, 0, true); err == nil && kv != nil && kv.CreateRevision == rev {
		return rev, nil
	}
	for _, at := range []int64{0, rev} {
		created, err := b.createdWith(ctx, key, at, value)
		if err != nil {
			return 0, fmt.Errorf("create of %s: reading it back: %w", key, err)
		}
		if created != 0 {
			return created, nil
		}
	}
	return 0, fmt.Errorf("create of %s was not stored (the datastore failed mid-write); try again", key)
}

// createdWith is the revision the key, as of revision at (0: now), was created at, if that create
// stored value; 0 otherwise.
func (b checkedCreates) createdWith(ctx context.Context, key string, at int64, value []byte) (int64, error) {
	_, kv, err := b.Backend.Get(ctx, key, at, false)
	if err != nil || kv == nil {
		return 0, err
	}
	if kv.ModRevision != kv.CreateRevision {
		if _, kv, err = b.Backend.Get(ctx, key, kv.CreateRevision, false); err != nil || kv == nil {
			return 0, err
		}
	}
	if !bytes.Equal(kv.Value, value) {
		return 0, nil
	}
	return kv.CreateRevision, nil
}

var checkCreatesOnce sync.Once

// checkCreates makes kine's SQL drivers hand out checkedCreates backends.
func checkCreates() {
	checkCreatesOnce.Do(func() {
		for _, scheme := range []string{"sqlite", "postgres", "postgresql", "mysql"} {
			newBackend, ok := drivers.Get(scheme)
			if !ok {
				continue
			}
			drivers.Register(scheme, func(ctx context.Context, wg *sync.WaitGroup, cfg *drivers.Config) (bool, server.Backend, error) {
				leaderElect, b, err := newBackend(ctx, wg, cfg)
				if b != nil {
					b = checkedCreates{b}
				}
				return leaderElect, b, err
			})
		}
	})
}
