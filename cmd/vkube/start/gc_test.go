package start

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestTuneGCYieldsToGOGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "100")
	tuneGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC=100 in the environment, collector target %d", got)
	}
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	tuneGC()
	if got := debug.SetGCPercent(100); got != supervisorGOGC {
		t.Fatalf("no GOGC in the environment, collector target %d, want %d", got, supervisorGOGC)
	}
}
