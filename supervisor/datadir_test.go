package supervisor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestClaimDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	release, err := claimDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := claimDataDir(dir); err == nil {
		t.Error("a second claim of a locked data dir succeeded")
	}
	release(false)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused start left the data dir it made: %v", err)
	}

	release, err = claimDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	release(true)
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the data dir of a recorded cluster was removed: %v", err)
	}
	release, err = claimDataDir(dir)
	if err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	release(false)
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("a data dir this start did not make was removed: %v", err)
	}
}
