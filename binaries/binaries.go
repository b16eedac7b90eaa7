// Package binaries finds the Kubernetes (or k3s/k0s) binaries of one version. They are built
// from the Go module proxy by `make kube-binaries` into a per-version cache outside the
// repository, or shipped in the vkube image.
package binaries

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// EnvDir overrides every search location with one directory.
const EnvDir = "VKUBE_BINARIES_DIR"

// ImageDir is where the vkube image keeps the binaries of each version it ships.
const ImageDir = "/usr/local/lib/vkube/kube"

// CacheDir is the per-user cache make kube-binaries fills: $VKUBE_CACHE or $XDG_CACHE_HOME/vkube.
func CacheDir() string {
	if d := os.Getenv("VKUBE_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "vkube")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "vkube-cache")
	}
	return filepath.Join(home, ".cache", "vkube")
}

// SearchDirs lists where the binaries of version are looked for, in order.
func SearchDirs(version string) []string {
	if d := os.Getenv(EnvDir); d != "" {
		return []string{d}
	}
	return []string{filepath.Join(ImageDir, version), filepath.Join(CacheDir(), "kube", version)}
}

// Find returns the directory holding every one of names for version, or an error that says how
// to get them.
func Find(version string, names ...string) (string, error) {
	dirs := SearchDirs(version)
	for _, d := range dirs {
		if hasAll(d, names) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%s %s not found in %s: build them with `make kube-binaries KUBE_VERSION=%s`, or set %s, or pick another --kubernetes-version",
		strings.Join(names, ", "), version, strings.Join(dirs, " or "), version, EnvDir)
}

// FindSingle locates a single-binary distro (k3s, k0s): the search dirs of version, then PATH.
func FindSingle(name, version string) (string, error) {
	for _, d := range SearchDirs(version) {
		if hasAll(d, []string{name}) {
			return filepath.Join(d, name), nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s %s not found in %s or on PATH: vkube cannot build %s from source; put the %s binary of that version there (it ships in the official %s image), or set %s",
		name, version, strings.Join(SearchDirs(version), " or "), name, name, name, EnvDir)
}

func hasAll(dir string, names []string) bool {
	for _, n := range names {
		st, err := os.Stat(filepath.Join(dir, n))
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}
