package charts

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"vkube.io/vkube/binaries"
)

// helmVersion is the helm CLI hack/helm.sh builds: the SDK version in go.mod.
const helmVersion = "v4.3.1"

// helmBinary is $HELM, or what `make helm` (hack/helm.sh) built. Missing, the test is skipped,
// except in CI, where a missing prerequisite is a failure.
func helmBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("HELM")
	if path == "" {
		path = filepath.Join(binaries.CacheDir(), "tools", "helm-"+helmVersion, "helm")
	}
	if _, err := os.Stat(path); err != nil {
		msg := "no helm binary at " + path + ": run `make helm` (or set HELM)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	// No user configuration or repositories: the chart has no dependencies.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestHelmLint(t *testing.T) {
	helmBinary(t)
	cases := map[string][]string{"defaults": nil}
	for _, f := range seedFiles(t) {
		cases[strings.TrimSuffix(filepath.Base(f), ".yaml")] = []string{"--values", f}
	}
	for name, extra := range cases {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"lint", "vkube", "--strict", "--namespace", testNamespace}, extra...)
			if out, err := runHelm(t, args...); err != nil {
				t.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

// `helm template` renders what the SDK renders, for the defaults and every seed.
func TestHelmTemplate(t *testing.T) {
	helmBinary(t)
	cases := map[string][]string{"defaults": nil}
	for _, f := range seedFiles(t) {
		cases[strings.TrimSuffix(filepath.Base(f), ".yaml")] = []string{f}
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			args := []string{"template", testName, "vkube", "--namespace", testNamespace}
			for _, f := range files {
				args = append(args, "--values", f)
			}
			out, err := runHelm(t, args...)
			if err != nil {
				t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			fromCLI := decode(t, out, "", testNamespace)
			checkCommon(t, fromCLI)
			checkAgainstRuntime(t, fromCLI)

			vals := map[string]any{}
			if len(files) > 0 {
				vals = valuesFiles(t, files...)
			}
			fromSDK := mustRender(t, testName, testNamespace, vals)
			if !reflect.DeepEqual(objectsOf(t, fromCLI), objectsOf(t, fromSDK)) {
				t.Errorf("helm template and the SDK render differ:\n--- helm template\n%s\n--- SDK\n%s", out, fromSDK.manifest)
			}
		})
	}
}

// objectsOf keys every rendered object by Kind/name, parsed.
func objectsOf(t *testing.T, r *rendered) map[string]any {
	t.Helper()
	out := map[string]any{}
	for i, doc := range r.docs {
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			t.Fatal(err)
		}
		out[r.kinds[i]] = v
	}
	return out
}
