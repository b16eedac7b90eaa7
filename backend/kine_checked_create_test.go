package backend

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k3s-io/kine/pkg/drivers"
	"github.com/k3s-io/kine/pkg/drivers/sqlite"
	"github.com/k3s-io/kine/pkg/server"
)

// sqliteKine is a real kine backend on SQLite in a temporary directory, with its table read
// directly (how vkube's SQLite backend checks a create).
func sqliteKine(t *testing.T) (server.Backend, *createRows) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	b, dialect, err := sqlite.NewVariant(ctx, &wg, "sqlite3", &drivers.Config{DataSourceName: filepath.Join(t.TempDir(), "state.db"), CompactBatchSize: 1000, PollBatchSize: 500, PollInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return b, &createRows{db: dialect.DB}
}

// checkers are the two ways a create is checked: kine's Get (PostgreSQL, MySQL) and the table
// read directly (SQLite).
func checkers(b server.Backend, rows *createRows) map[string]checkedCreates {
	return map[string]checkedCreates{"kine's Get": {Backend: b}, "the table": {Backend: b, rows: rows}}
}

// lostCreate is kine's failure: a create reported as done at the current revision, with
// nothing stored.
type lostCreate struct{ server.Backend }

func (b lostCreate) Create(ctx context.Context, _ string, _ []byte, _ int64) (int64, error) {
	return b.CurrentRevision(ctx)
}

func TestCheckedCreatesRefusesACreateThatWasNotStored(t *testing.T) {
	ctx := context.Background()
	real, rows := sqliteKine(t)
	for name, checked := range checkers(real, rows) {
		if _, err := checked.Create(ctx, "/registry/configmaps/default/kept-"+name, []byte("v"), 0); err != nil {
			t.Fatalf("%s: a stored create: %v", name, err)
		}
		checked.Backend = lostCreate{real}
		_, err := checked.Create(ctx, "/registry/configmaps/default/lost", []byte("v"), 0)
		if err == nil || !strings.Contains(err.Error(), "was not stored") {
			t.Fatalf("%s: a create that stored nothing: got %v, want an error", name, err)
		}
	}
}

// A create of the key by another writer, answered as ours, is not ours: the value differs.
func TestCheckedCreatesRefusesAnotherWritersCreate(t *testing.T) {
	ctx := context.Background()
	real, rows := sqliteKine(t)
	key := "/registry/configmaps/default/contended"
	rev, err := real.Create(ctx, key, []byte("theirs"), 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, checked := range checkers(createdAt{real, rev}, rows) {
		if _, err := checked.Create(ctx, key, []byte("ours"), 0); err == nil || !strings.Contains(err.Error(), "was not stored") {
			t.Errorf("%s: another writer's create answered as ours: got %v, want an error", name, err)
		}
	}
}

func TestCheckedCreatesAcceptsACreateDeletedSince(t *testing.T) {
	ctx := context.Background()
	real, rows := sqliteKine(t)
	key := "/registry/configmaps/default/short-lived"
	rev, err := real.Create(ctx, key, []byte("v"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := real.Delete(ctx, key, rev); err != nil {
		t.Fatal(err)
	}
	// Replay the check on a create whose object is already gone: the key as of rev has it.
	for name, checked := range checkers(createdAt{real, rev}, rows) {
		if _, err := checked.Create(ctx, key, []byte("v"), 0); err != nil {
			t.Fatalf("%s: a create deleted since: %v", name, err)
		}
	}
}

// createdAt reports a create at rev without doing anything: the create already happened.
type createdAt struct {
	server.Backend
	rev int64
}

func (b createdAt) Create(context.Context, string, []byte, int64) (int64, error) { return b.rev, nil }

// A key created again after a delete goes through kine's second insert, which answers kine's
// current revision rather than the insert's: with other writes going on, the two differ.
func TestCheckedCreatesAcceptsARecreateUnderConcurrentWrites(t *testing.T) {
	real, rows := sqliteKine(t)
	for name, checked := range checkers(real, rows) {
		t.Run(name, func(t *testing.T) { recreateUnderConcurrentWrites(t, real, checked) })
	}
}

func recreateUnderConcurrentWrites(t *testing.T, real server.Backend, checked checkedCreates) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			_, _ = real.Create(ctx, fmt.Sprintf("/registry/configmaps/default/noise-%d", i), []byte("n"), 0)
		}
	}()
	key := "/registry/ipaddresses/10.96.0.10"
	for i := range 200 {
		value := []byte(fmt.Sprintf("uid-%d", i))
		rev, err := checked.Create(ctx, key, value, 0)
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		_, kv, err := real.Get(ctx, key, 0, false)
		if err != nil || kv == nil || kv.ModRevision != rev || string(kv.Value) != string(value) {
			t.Fatalf("create %d answered revision %d; the key holds %+v (%v)", i, rev, kv, err)
		}
		if _, _, _, err := real.Delete(ctx, key, rev); err != nil {
			t.Fatal(err)
		}
	}
}
