package backend

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/k3s-io/kine/pkg/drivers"
	"github.com/k3s-io/kine/pkg/drivers/sqlite"
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
type checkedCreates struct {
	server.Backend
	// rows, when set, reads the row of a revision straight from kine's table (SQLite, whose
	// driver hands out its database): kine's Get parses a large query on every call, which was
	// nearly half of the datastore's CPU per create.
	rows *createRows
}

func (b checkedCreates) Create(ctx context.Context, key string, value []byte, lease int64) (int64, error) {
	rev, err := b.Backend.Create(ctx, key, value, lease)
	if err != nil {
		return rev, err
	}
	// The usual case: the key was created at the answered revision.
	if b.rows != nil {
		if stored, err := b.rows.created(ctx, rev, key, value); err == nil && stored {
			return rev, nil
		}
	} else if _, kv, err := b.Backend.Get(ctx, key, 0, false); err == nil && kv != nil && kv.CreateRevision == rev && bytes.Equal(kv.Value, value) {
		// The value too: another writer's create of the key may be the revision answered.
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

// createRows reads kine's table directly: whether the row of a revision is the create of a key
// with a value, in one primary-key lookup through a statement prepared once.
type createRows struct {
	db   *sql.DB
	mu   sync.Mutex
	stmt *sql.Stmt
}

// createdRowSQL is kine's schema (every SQL driver's): one row per revision, its id.
const createdRowSQL = "SELECT value FROM kine WHERE id = ? AND name = ? AND created = 1"

func (r *createRows) created(ctx context.Context, rev int64, key string, value []byte) (bool, error) {
	stmt, err := r.prepared(ctx)
	if err != nil {
		return false, err
	}
	var stored []byte
	switch err := stmt.QueryRowContext(ctx, rev, key).Scan(&stored); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	return bytes.Equal(stored, value), nil
}

func (r *createRows) prepared(ctx context.Context) (*sql.Stmt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stmt == nil {
		stmt, err := r.db.PrepareContext(ctx, createdRowSQL)
		if err != nil {
			return nil, err
		}
		r.stmt = stmt
	}
	return r.stmt, nil
}

var checkCreatesOnce sync.Once

// checkCreates makes kine's SQL drivers hand out checkedCreates backends.
func checkCreates() {
	checkCreatesOnce.Do(func() {
		// SQLite's constructor is kine's own (sqlite.New), keeping the database it opens.
		drivers.Register("sqlite", func(ctx context.Context, wg *sync.WaitGroup, cfg *drivers.Config) (bool, server.Backend, error) {
			b, dialect, err := sqlite.NewVariant(ctx, wg, "sqlite3", cfg)
			if err != nil {
				return false, nil, err
			}
			return false, checkedCreates{Backend: b, rows: &createRows{db: dialect.DB}}, nil
		})
		for _, scheme := range []string{"postgres", "postgresql", "mysql"} {
			newBackend, ok := drivers.Get(scheme)
			if !ok {
				continue
			}
			drivers.Register(scheme, func(ctx context.Context, wg *sync.WaitGroup, cfg *drivers.Config) (bool, server.Backend, error) {
				leaderElect, b, err := newBackend(ctx, wg, cfg)
				if b != nil {
					b = checkedCreates{Backend: b}
				}
				return leaderElect, b, err
			})
		}
	})
}
