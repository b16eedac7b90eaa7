package certs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Store persists the PKI as a flat map of file name -> bytes (so it fits a Kubernetes Secret).
type Store interface {
	// Load returns the stored files, or an empty map when nothing is stored yet.
	Load(ctx context.Context) (map[string][]byte, error)
	// Save replaces the stored files. A store shared by replicas returns an error wrapping
	// ErrConflict when they changed since Load; Ensure then starts over from Load.
	Save(ctx context.Context, files map[string][]byte) error
}

// ErrConflict: another writer (an HA replica) saved the bundle first.
var ErrConflict = errors.New("certificates changed by another writer")

// NewDirStore returns a Store keeping the bundle as files in dir (keys 0600, certs 0644, dir 0700).
func NewDirStore(dir string) Store { return dirStore{dir: dir} }

type dirStore struct{ dir string }

func (s dirStore) Load(ctx context.Context) (map[string][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read certificate directory: %w", err)
	}
	for _, e := range entries {
		// Dot files are temporaries of an interrupted writeFiles.
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read stored certificate file: %w", err)
		}
		files[e.Name()] = data
	}
	return files, nil
}

func (s dirStore) Save(ctx context.Context, files map[string][]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return writeFiles(s.dir, files)
}

// writeFiles writes every file into dir, skipping those already identical on disk so that
// components watching their certificate files are not made to reload for nothing.
func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create certificate directory: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if name == "" || name == "." || name == ".." || filepath.Base(name) != name || strings.HasPrefix(name, ".") {
			return fmt.Errorf("invalid certificate file name %q: must be a plain file name", name)
		}
		path := filepath.Join(dir, name)
		mode := fileMode(name)
		if unchanged(path, files[name], mode) {
			continue
		}
		if err := writeFileAtomic(path, files[name], mode); err != nil {
			return err
		}
	}
	return nil
}

func unchanged(path string, data []byte, mode os.FileMode) bool {
	info, err := os.Lstat(path)
	if err != nil || !info.Mode().IsRegular() || info.Mode().Perm() != mode {
		return false
	}
	old, err := os.ReadFile(path)
	return err == nil && bytes.Equal(old, data)
}

// writeFileAtomic renames a complete temporary file into place, so a component reading its
// certificate while it is renewed sees either the old file or the new one, never half of one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
