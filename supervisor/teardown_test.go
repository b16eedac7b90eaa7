package supervisor

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestTeardownUndoesInReverseOnce(t *testing.T) {
	var td teardown
	var got []string
	undo := func(name string, err error) func(context.Context) error {
		return func(context.Context) error { got = append(got, name); return err }
	}
	boom := errors.New("boom")
	td.push(undo("lock", nil))
	td.push(undo("health", boom))
	td.push(undo("datastore", nil))
	if err := td.run(context.Background()); !errors.Is(err, boom) {
		t.Errorf("run: %v, want the failed undo's error", err)
	}
	if want := []string{"datastore", "health", "lock"}; !slices.Equal(got, want) {
		t.Errorf("undone %v, want %v", got, want)
	}
	if err := td.run(context.Background()); err != nil || len(got) != 3 {
		t.Errorf("second run: %v, undone %v: want nothing more", err, got)
	}
	// A part that comes up after the teardown is undone at once.
	td.push(undo("control plane", nil))
	if got[len(got)-1] != "control plane" {
		t.Errorf("a part started after the teardown was left running: %v", got)
	}
}
