package lifecycle

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestHAOnEmptyDirWarns: seed 004's ha.yaml runs 3 embedded etcd members on emptyDir volumes,
// which all restarting together would empty; vkube create says so, and the chart's default
// (persistent volumes) does not warn.
func TestHAOnEmptyDirWarns(t *testing.T) {
	seed := filepath.Join("..", "..", "config", "legacy", "testdata", "seeds", "004_4.yaml")
	for _, tc := range []struct {
		name string
		o    CreateOptions
		warn bool
	}{
		{"seed 004 ha.yaml", CreateOptions{Name: "ha", ValuesFiles: []string{seed}, KubernetesVersion: "v1.34.2"}, true},
		{"ha.yaml with persistence", CreateOptions{Name: "ha", ValuesFiles: []string{seed}, KubernetesVersion: "v1.34.2",
			Set: []string{"controlPlane.statefulSet.persistence.volumeClaim.enabled=true"}}, false},
		{"3 replicas, default volumes", CreateOptions{Name: "ha", Set: []string{
			"controlPlane.statefulSet.highAvailability.replicas=3", "controlPlane.backingStore.etcd.embedded.enabled=true"}}, false},
	} {
		_, warnings, err := buildConfig(nil, tc.o)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := strings.Contains(strings.Join(warnings, "\n"), "emptyDir")
		if got != tc.warn {
			t.Errorf("%s: warned about emptyDir %v, want %v (warnings %q)", tc.name, got, tc.warn, warnings)
		}
	}
}
