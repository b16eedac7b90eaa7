package charts

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"

	"vkube.io/vkube/config"
	"vkube.io/vkube/config/encoding"
)

func writeBytes(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }

// The Go constants name the same release as the chart's metadata: the CLI and the default
// image tag rely on it.
func TestChartMetadata(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Metadata.Name != "vkube" || c.Metadata.Version != "0.1.0" || c.Metadata.APIVersion != "v2" {
		t.Errorf("Chart.yaml: name %q version %q apiVersion %q, want vkube 0.1.0 v2", c.Metadata.Name, c.Metadata.Version, c.Metadata.APIVersion)
	}
	if c.Metadata.AppVersion != AppVersion {
		t.Errorf("Chart.yaml appVersion %q, charts.AppVersion %q: keep them equal", c.Metadata.AppVersion, AppVersion)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("chart metadata: %v", err)
	}
	if got := DefaultImageTag(config.DefaultKubernetesVersion); got != "0.1.0-k8s-v1.34.2" {
		t.Errorf("DefaultImageTag = %q", got)
	}
	if repo := c.Values["controlPlane"].(map[string]any)["statefulSet"].(map[string]any)["image"].(map[string]any)["repository"]; repo != DefaultImageRepository {
		t.Errorf("values.yaml image repository %v, charts.DefaultImageRepository %q", repo, DefaultImageRepository)
	}
}

// The embedded chart is the folder's chart: what `helm` reads from charts/vkube.
func TestLoadEmbedsEveryFile(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	err = filepath.WalkDir("vkube", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != ".helmignore" {
			rel, _ := filepath.Rel("vkube", p)
			want = append(want, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range c.Raw {
		got[f.Name] = true
	}
	for _, name := range want {
		if !got[name] {
			t.Errorf("%s is in charts/vkube but not in the embedded chart", name)
		}
	}
	if len(c.Templates) == 0 {
		t.Error("no templates loaded")
	}
}

// values.yaml is a vkube.yaml document: the runtime reads it strictly, and it must not set a
// key that would override what legacy values convert to (so it leaves those unset).
func TestValuesYAMLIsVkubeYAML(t *testing.T) {
	data, err := os.ReadFile("vkube/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, warnings, err := encoding.Load(data)
	if err != nil {
		t.Fatalf("encoding.Load(values.yaml): %v", err)
	}
	if len(warnings) > 0 {
		t.Errorf("encoding.Load(values.yaml) warned: %q", warnings)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Errorf("values.yaml with defaults does not validate: %v", err)
	}
	// Loading the defaults must change nothing the runtime defaults would not set.
	want := config.Default()
	if !reflect.DeepEqual(normalised(t, c), normalised(t, want)) {
		t.Errorf("values.yaml differs from config.Default():\nvalues.yaml: %s\ndefault:     %s", yamlDoc(normalised(t, c)), yamlDoc(normalised(t, want)))
	}
}

// normalised drops the keys that only the chart reads (the StatefulSet's, but for the replicas,
// Lease timing and persistence switch, and the ingress annotations) and round-trips the rest
// through YAML, so that nil and empty compare equal.
func normalised(t *testing.T, c *config.Config) map[string]any {
	t.Helper()
	cp := *c
	sts := config.StatefulSet{HighAvailability: c.ControlPlane.StatefulSet.HighAvailability}
	sts.Persistence.VolumeClaim.Enabled = c.ControlPlane.StatefulSet.Persistence.VolumeClaim.Enabled
	cp.ControlPlane.StatefulSet = sts
	cp.ControlPlane.Ingress.Annotations = nil
	b, err := yaml.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
