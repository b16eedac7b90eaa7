package integration

import (
	"strings"
	"testing"
	"time"
)

// TestVersionsSideBySide runs two Kubernetes minors on one machine at once; each virtual
// cluster reports the version it was asked for.
func TestVersionsSideBySide(t *testing.T) {
	requireKube(t, kubeVersion)
	requireKube(t, kubeVersionAlt)
	a := newVCluster(t, "vc-a", "--kubernetes-version", kubeVersion)
	b := newVCluster(t, "vc-b", "--kubernetes-version", kubeVersionAlt, "--backend", "etcd")
	a.start()
	b.start()
	a.waitReady(2 * time.Minute)
	b.waitReady(2 * time.Minute)
	for _, tc := range []struct {
		v    *vcluster
		want string
	}{{a, kubeVersion}, {b, kubeVersionAlt}} {
		info, err := tc.v.client().Discovery().ServerVersion()
		if err != nil {
			t.Fatalf("%s: server version: %v", tc.v.name, err)
		}
		if !strings.HasPrefix(info.GitVersion, tc.want) {
			t.Errorf("%s serves %s, want %s", tc.v.name, info.GitVersion, tc.want)
		}
		exerciseCluster(t, tc.v)
	}
}
