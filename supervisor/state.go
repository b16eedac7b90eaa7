package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// state records what a data dir was created with. Changing distro or backend under existing
// data would strand it (a k3s datastore is not a k8s one; SQLite rows are not in PostgreSQL).
type state struct {
	Name    string    `json:"name"`
	Distro  string    `json:"distro"`
	Backend string    `json:"backend"`
	Port    int       `json:"port"`
	Created time.Time `json:"created"`
}

const stateFile = "vkube-state.json"

func loadState(dataDir string) (*state, error) {
	data, err := os.ReadFile(filepath.Join(dataDir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", filepath.Join(dataDir, stateFile), err)
	}
	return &s, nil
}

// checkUnchanged refuses a start whose distro, backend or name differ from the data dir's.
func (s *state) checkUnchanged(want state, dataDir string) error {
	switch {
	case s.Name != want.Name:
		return fmt.Errorf("data dir %s belongs to virtual cluster %q, not %q: use another --data-dir or --name %s", dataDir, s.Name, want.Name, s.Name)
	case s.Distro != want.Distro:
		return fmt.Errorf("data dir %s was created with distro %s; changing it to %s is not supported: start with --distro %s or use a new --data-dir", dataDir, s.Distro, want.Distro, s.Distro)
	case s.Backend != want.Backend:
		return fmt.Errorf("data dir %s was created with backend %s; changing it to %s is not supported (the data would be left behind): start with --backend %s or use a new --data-dir", dataDir, s.Backend, want.Backend, s.Backend)
	}
	return nil
}

// wantedState is what this start records in the data dir: refused when the data dir was made
// for another name, distro or backend; a previous start's creation time and port kept.
func wantedState(dataDir string, want state) (state, error) {
	prev, err := loadState(dataDir)
	if err != nil {
		return want, err
	}
	if prev == nil {
		return want, nil
	}
	if err := prev.checkUnchanged(want, dataDir); err != nil {
		return want, err
	}
	want.Created = prev.Created
	if want.Port == 0 {
		want.Port = prev.Port
	}
	return want, nil
}

func saveState(dataDir string, s state) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dataDir, "."+stateFile)
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dataDir, stateFile))
}
