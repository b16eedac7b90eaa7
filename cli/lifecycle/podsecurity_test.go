package lifecycle

import (
	"strings"
	"testing"

	"vkube.io/vkube/config"
)

func TestNamespacePodSecurity(t *testing.T) {
	vkubes := func(level string) map[string]string { return map[string]string{annotationEnforcedBy: level} }
	for _, tc := range []struct {
		name        string
		labels      map[string]string
		annotations map[string]string
		level       string
		want        string // the level set, "" when nothing is
		note        string
	}{
		{"no level", nil, nil, "", "", ""},
		{"a new or unlabelled namespace", nil, nil, "baseline", "baseline", ""},
		{"already enforcing it", map[string]string{labelEnforce: "baseline"}, nil, "baseline", "", ""},
		{"a laxer level someone set is raised", map[string]string{labelEnforce: "privileged"}, nil, "baseline", "baseline", ""},
		{"a stricter level someone set stays", map[string]string{labelEnforce: "restricted"}, nil, "baseline", "", "stricter than the virtual cluster's baseline"},
		{"vkube's own stricter level is lowered", map[string]string{labelEnforce: "restricted"}, vkubes("restricted"), "baseline", "baseline", ""},
		{"privileged, when the host admin opts out", map[string]string{labelEnforce: "baseline"}, vkubes("baseline"), "privileged", "privileged", ""},
		{"an unknown value is made a valid one", map[string]string{labelEnforce: "strict"}, nil, "restricted", "restricted", ""},
		{"an unknown value counts as restricted", map[string]string{labelEnforce: "strict"}, nil, "baseline", "", "stricter"},
	} {
		set, note := namespacePodSecurity(tc.labels, tc.annotations, tc.level)
		got := set["labels"][labelEnforce]
		if got != tc.want || (tc.note == "") != (note == "") || !strings.Contains(note, tc.note) {
			t.Errorf("%s: sets %q (note %q), want %q (note %q)", tc.name, got, note, tc.want, tc.note)
		}
		if set != nil && (set["labels"][labelEnforceVersion] != "latest" || set["annotations"][annotationEnforcedBy] != tc.want) {
			t.Errorf("%s: %v", tc.name, set)
		}
	}
}

func TestHostNamespaceLevel(t *testing.T) {
	for _, tc := range []struct {
		mutate func(*config.Config)
		want   string
	}{
		{func(*config.Config) {}, "baseline"},
		{func(c *config.Config) { c.Policies.HostAccess.PodSecurityStandard = "privileged" }, "privileged"},
		{func(c *config.Config) { c.Policies.Isolate(); c.Policies.HostAccess.PodSecurityStandard = "privileged" }, "baseline"},
		{func(c *config.Config) { c.Policies.PodSecurityStandard = "restricted" }, "restricted"},
	} {
		c := &config.Config{}
		tc.mutate(c)
		got, err := hostNamespaceLevel(c)
		if err != nil || got != tc.want {
			t.Errorf("%+v: %q %v, want %q", c.Policies, got, err, tc.want)
		}
	}
}
