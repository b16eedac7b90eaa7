package distro

import (
	"slices"
	"testing"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/config"
)

func k3sConfig(mutate func(*config.K3sDistro, *config.Config)) *config.Config {
	cfg := &config.Config{Name: "vc"}
	cfg.ControlPlane.Distro.K3s = config.K3sDistro{Enabled: true, Token: "0123456789abcdef"}
	if mutate != nil {
		mutate(&cfg.ControlPlane.Distro.K3s, cfg)
	}
	return cfg
}

func TestK3sGolden(t *testing.T) {
	pki := goldenPKI(t)
	eps := goldenEndpoints(pki)
	cases := []struct {
		name     string
		endpoint string
		cfg      *config.Config
	}{
		{"k3s-kine", "kine", k3sConfig(func(_ *config.K3sDistro, c *config.Config) {
			c.ControlPlane.Proxy.ExtraSANs = []string{"vc.example.com", "192.0.2.10"}
		})},
		{"k3s-etcd-embedded", "etcd-embedded", k3sConfig(nil)},
		{"k3s-etcd-external", "etcd-external", k3sConfig(nil)},
		{"k3s-extra-args", "kine", k3sConfig(func(s *config.K3sDistro, _ *config.Config) {
			s.ExtraArgs = []string{"--service-cidr=10.43.0.0/16", "--kube-apiserver-arg=v=2", "--debug"}
			s.Env = []config.EnvVar{{Name: "GOGC", Value: "100"}}
		})},
		{"k3s-command", "kine", k3sConfig(func(s *config.K3sDistro, _ *config.Config) {
			s.Command = []string{"/opt/bin/k3s-wrapper", "server", "--config=/etc/k3s.yaml"}
			s.ExtraArgs = []string{"--debug"}
		})},
		{"k3s-virtual-scheduler", "kine", k3sConfig(func(_ *config.K3sDistro, c *config.Config) {
			c.ControlPlane.Advanced.VirtualScheduler = config.NewToggle(true)
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			comps, err := k3sDriver{}.Components(goldenOptions(pki, tc.cfg, "/opt/vkube/bin/k3s", eps[tc.endpoint]))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, renderComponents(pki, comps))
		})
	}
}

func TestK3sRefuses(t *testing.T) {
	pki := goldenPKI(t)
	kine := goldenEndpoints(pki)["kine"]
	for name, o := range map[string]Options{
		"no token":      goldenOptions(pki, k3sConfig(func(s *config.K3sDistro, _ *config.Config) { s.Token = "" }), "k3s", kine),
		"unix endpoint": goldenOptions(pki, k3sConfig(nil), "k3s", backend.Endpoint{Servers: []string{"unix:///run/kine.sock"}}),
		"no endpoint":   goldenOptions(pki, k3sConfig(nil), "k3s", backend.Endpoint{}),
	} {
		if _, err := (k3sDriver{}).Components(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSingleBinaryDriversRegistered(t *testing.T) {
	for _, name := range []string{"k3s", "k0s"} {
		d, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Binaries(Options{}); !slices.Equal(got, []string{name}) {
			t.Errorf("%s binaries: %v", name, got)
		}
		if got := d.Needs(); got != (Needs{SingleBinary: true, DatastoreTCP: true}) {
			t.Errorf("%s needs: %+v", name, got)
		}
	}
	for _, name := range []string{"k8s", "eks"} {
		d, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Needs(); got != (Needs{}) {
			t.Errorf("%s needs: %+v", name, got)
		}
	}
}

// The generated token is kept in the data dir and found again; a configured one wins.
func TestK3sPrepareKeepsToken(t *testing.T) {
	dir := t.TempDir()
	prepare := func(cfg *config.Config) string {
		t.Helper()
		if err := (k3sDriver{}).Prepare(&Options{Config: cfg, DataDir: dir}); err != nil {
			t.Fatal(err)
		}
		return cfg.ControlPlane.Distro.K3s.Token
	}
	unset := func(s *config.K3sDistro, _ *config.Config) { s.Token = "" }
	first := prepare(k3sConfig(unset))
	if len(first) != 64 {
		t.Fatalf("generated token %q: want 64 hex digits", first)
	}
	if again := prepare(k3sConfig(unset)); again != first {
		t.Errorf("second start got token %q, want the kept %q", again, first)
	}
	if set := prepare(k3sConfig(nil)); set != "0123456789abcdef" {
		t.Errorf("configured token replaced by %q", set)
	}
}
