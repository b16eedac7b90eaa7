package integration

import (
	"strings"
	"testing"
	"time"

	"vkube.io/vkube/test/framework"
)

// TestVersionsSideBySide runs two Kubernetes minors on one machine at once; each virtual
// cluster reports the version it was asked for.
func TestVersionsSideBySide(t *testing.T) {
	requireKube(t, kubeVersion)
	requireKube(t, kubeVersionAlt)
	a := framework.New(t, vkubeBin, "vc-a", "--kubernetes-version", kubeVersion)
	b := framework.New(t, vkubeBin, "vc-b", "--kubernetes-version", kubeVersionAlt, "--backend", "etcd")
	a.Start()
	b.Start()
	a.WaitReady(2 * time.Minute)
	b.WaitReady(2 * time.Minute)
	for _, tc := range []struct {
		v    *framework.VCluster
		want string
	}{{a, kubeVersion}, {b, kubeVersionAlt}} {
		info, err := tc.v.Client().Discovery().ServerVersion()
		if err != nil {
			t.Fatalf("%s: server version: %v", tc.v.Name, err)
		}
		if !strings.HasPrefix(info.GitVersion, tc.want) {
			t.Errorf("%s serves %s, want %s", tc.v.Name, info.GitVersion, tc.want)
		}
		exerciseCluster(t, tc.v)
	}
}
