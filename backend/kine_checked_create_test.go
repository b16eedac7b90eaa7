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
	_ "github.com/k3s-io/kine/pkg/drivers/sqlite"
	"github.com/k3s-io/kine/pkg/server"
)

// sqliteKine is a real kine backend on SQLite in a temporary directory.
func sqliteKine(t *testing.T) server.Backend {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	_, b, err := drivers.New(ctx, &wg, &drivers.Config{Endpoint: "sqlite://" + filepath.Join(t.TempDir(), "state.db"), CompactBatchSize: 1000, PollBatchSize: 500, PollInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

// lostCreate is kine's failure: a create reported as done at the current revision, with
// nothing stored.
type lostCreate struct{ server.Backend }

func (b lostCreate) Create(ctx context.Context, _ string, _ []byte, _ int64) (int64, error) {
	return b.CurrentRevision(ctx)
}

func TestCheckedCreatesRefusesACreateThatWasNotStored(t *testing.T) {
	ctx := context.Background()
	real := sqliteKine(t)
	if _, err := (checkedCreates{real}).Create(ctx, "/registry/configmaps/default/kept", []byte("v"), 0); err != nil {
		t.Fatalf("a stored create: %v", err)
	}
	_, err := (checkedCreates{lostCreate{real}}).Create(ctx, "/registry/configmaps/default/lost", []byte("v"), 0)
	if err == nil || !strings.Contains(err.Error(), "was not stored") {
		t.Fatalf("a create that stored nothing: got %v, want an error", err)
	}
}

func TestCheckedCreatesAcceptsACreateDeletedSince(t *testing.T) {
	ctx := context.Background()
	real := sqliteKine(t)
	key := "/registry/configmaps/default/short-lived"
	rev, err := real.Create(ctx, key, []byte("v"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := real.Delete(ctx, key, rev); err != nil {
		t.Fatal(err)
	}
	// Replay the check on a create whose object is already gone: the key as of rev has it.
	if _, err := (checkedCreates{createdAt{real, rev}}).Create(ctx, key, []byte("v"), 0); err != nil {
		t.Fatalf("a create deleted since: %v", err)
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
	real := sqliteKine(t)
	checked := checkedCreates{real}
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
