package framework

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Binary is the vkube binary under test: $VKUBE_BIN (what `make test` builds), or one built
// now into a temporary directory; cleanup removes what was built.
func Binary() (path string, cleanup func(), err error) {
	if p := os.Getenv("VKUBE_BIN"); p != "" {
		return p, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "vkube-bin")
	if err != nil {
		return "", nil, err
	}
	path = filepath.Join(dir, "vkube")
	build := exec.Command("go", "build", "-o", path, "vkube.io/vkube/cmd/vkube")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("building vkube: %w", err)
	}
	return path, func() { os.RemoveAll(dir) }, nil
}
