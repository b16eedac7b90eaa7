package config

import "testing"

func TestHostNamespacePodSecurity(t *testing.T) {
	for _, tc := range []struct{ host, virtual, want string }{
		{"", "", ""},
		{"baseline", "", "baseline"},
		{"privileged", "", "privileged"},
		{"privileged", "baseline", "baseline"},
		{"baseline", "restricted", "restricted"},
		{"restricted", "baseline", "restricted"},
		{"baseline", "privileged", "baseline"},
		{"strict", "", "restricted"},
	} {
		p := Policies{PodSecurityStandard: tc.virtual, HostAccess: HostAccess{PodSecurityStandard: tc.host}}
		if got := p.HostNamespacePodSecurity(); got != tc.want {
			t.Errorf("hostAccess %q, policies %q: %q, want %q", tc.host, tc.virtual, got, tc.want)
		}
	}
}

func TestHostAccessDefaults(t *testing.T) {
	if got := (HostAccess{}).PriorityClassCeiling(); got != 0 {
		t.Errorf("unset ceiling: %d", got)
	}
	var c Config
	c.SetDefaults()
	if got := c.Policies.HostNamespacePodSecurity(); got != "baseline" {
		t.Errorf("default host namespace level %q, want baseline", got)
	}
	if got := c.Policies.HostAccess.PriorityClassCeiling(); got != 0 {
		t.Errorf("default ceiling %d, want 0", got)
	}
	if c.Policies.HostAccess.HostPathVolumes {
		t.Error("hostPath volumes allowed by default")
	}
}
