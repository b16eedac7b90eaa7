// Package integration runs `vkube start` for real: the vkube binary, the real Kubernetes
// binaries and real PostgreSQL, MariaDB and etcd servers on loopback.
package integration

import (
	"fmt"
	"os"
	"testing"

	"vkube.io/vkube/binaries"
	"vkube.io/vkube/test/framework"
)

var (
	vkubeBin       string
	kubeVersion    = envOr("KUBE_VERSION", "v1.34.2")
	kubeVersionAlt = envOr("KUBE_VERSION_ALT", "v1.35.4")
)

func TestMain(m *testing.M) {
	bin, cleanup, err := framework.Binary()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	vkubeBin = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// requireKube skips (or, in CI, fails) when the Kubernetes binaries of version are missing.
func requireKube(t *testing.T, version string) string {
	t.Helper()
	dir, err := binaries.Find(version, "kube-apiserver", "kube-controller-manager")
	if err != nil {
		prerequisite(t, "%v", err)
	}
	return dir
}

func prerequisite(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("missing prerequisite: "+format, args...)
	}
	t.Skipf("missing prerequisite: "+format, args...)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
