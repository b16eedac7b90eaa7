package distro

import (
	"testing"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/config"
)

func k0sConfigWith(mutate func(*config.K0sDistro, *config.Config)) *config.Config {
	cfg := &config.Config{Name: "vc"}
	cfg.ControlPlane.Distro.K0s = config.K0sDistro{Enabled: true}
	if mutate != nil {
		mutate(&cfg.ControlPlane.Distro.K0s, cfg)
	}
	return cfg
}

func TestK0sGolden(t *testing.T) {
	pki := goldenPKI(t)
	eps := goldenEndpoints(pki)
	cases := []struct {
		name     string
		endpoint string
		cfg      *config.Config
	}{
		{"k0s-kine", "kine", k0sConfigWith(func(_ *config.K0sDistro, c *config.Config) {
			c.ControlPlane.Proxy.ExtraSANs = []string{"vc.example.com", "192.0.2.10"}
		})},
		{"k0s-etcd-embedded", "etcd-embedded", k0sConfigWith(nil)},
		{"k0s-etcd-external", "etcd-external", k0sConfigWith(nil)},
		{"k0s-extra-args", "kine", k0sConfigWith(func(s *config.K0sDistro, _ *config.Config) {
			s.ExtraArgs = []string{"--disable-components=konnectivity-server", "--debug"}
			s.Env = []config.EnvVar{{Name: "HTTPS_PROXY", Value: "http://proxy:3128"}}
		})},
		{"k0s-command", "kine", k0sConfigWith(func(s *config.K0sDistro, _ *config.Config) {
			s.Command = []string{"/opt/bin/k0s-wrapper", "controller"}
			s.ExtraArgs = []string{"--debug"}
		})},
		{"k0s-virtual-scheduler", "kine", k0sConfigWith(func(_ *config.K0sDistro, c *config.Config) {
			c.ControlPlane.Advanced.VirtualScheduler = config.NewToggle(true)
		})},
		// The user's YAML as a bare spec: maps merge, lists and scalars replace, null removes.
		{"k0s-config-spec", "kine", k0sConfigWith(func(s *config.K0sDistro, _ *config.Config) {
			s.Config = "api:\n  sans: [extra.example.com]\n  extraArgs:\n    audit-log-path: /var/log/audit.log\n" +
				"network:\n  provider: null\ntelemetry:\n  enabled: true\n"
		})},
		// The user's YAML as a whole ClusterConfig document.
		{"k0s-config-document", "etcd-embedded", k0sConfigWith(func(s *config.K0sDistro, _ *config.Config) {
			s.Config = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nmetadata:\n  name: vc\n" +
				"spec:\n  storage:\n    etcd:\n      externalCluster:\n        etcdPrefix: /vc\n"
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			comps, err := k0sDriver{}.Components(goldenOptions(pki, tc.cfg, "/opt/vkube/bin/k0s", eps[tc.endpoint]))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, renderComponents(pki, comps))
		})
	}
}

func TestK0sRefuses(t *testing.T) {
	pki := goldenPKI(t)
	kine := goldenEndpoints(pki)["kine"]
	for name, o := range map[string]Options{
		"bad user config":  goldenOptions(pki, k0sConfigWith(func(s *config.K0sDistro, _ *config.Config) { s.Config = "api: [" }), "k0s", kine),
		"config not a map": goldenOptions(pki, k0sConfigWith(func(s *config.K0sDistro, _ *config.Config) { s.Config = "- a\n- b\n" }), "k0s", kine),
		"unix endpoint":    goldenOptions(pki, k0sConfigWith(nil), "k0s", backend.Endpoint{Servers: []string{"unix:///run/kine.sock"}}),
	} {
		if _, err := (k0sDriver{}).Components(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
