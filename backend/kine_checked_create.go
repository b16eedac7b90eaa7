package backend

import (
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
type checkedCreates struct{ server.Backend }

func (b checkedCreates) Create(ctx context.Context, key string, value []byte, lease int64) (int64, error) {
	rev, err := b.Backend.Create(ctx, key, value, lease)
	if err != nil {
		return rev, err
	}
	if _, kv, gerr := b.Backend.Get(ctx, key, 0, true); gerr == nil && kv != nil && kv.CreateRevision == rev {
		return rev, nil
	}
	// Not there now: deleted since, or never stored. The key as of rev tells which.
	_, kv, gerr := b.Backend.Get(ctx, key, rev, true)
	if gerr != nil {
		return 0, fmt.Errorf("create of %s: reading it back: %w", key, gerr)
	}
	if kv == nil || kv.CreateRevision != rev {
		return 0, fmt.Errorf("create of %s was not stored (the datastore failed mid-write); try again", key)
	}
	return rev, nil
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
