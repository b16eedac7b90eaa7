package distro

import (
	"strings"
	"testing"

	"vkube.io/vkube/config"
)

func TestK8sGolden(t *testing.T) {
	pki := goldenPKI(t)
	ep := goldenEndpoints(pki)
	cases := []struct {
		name, distro, endpoint string
		mutate                 func(*config.K8sDistro)
	}{
		{"k8s-kine", "k8s", "kine", nil},
		{"k8s-etcd-scheduler-extra-args", "k8s", "etcd-embedded", func(d *config.K8sDistro) {
			d.Scheduler.Enabled = true
			d.APIServer.ExtraArgs = []string{"--secure-port=7443", "--audit-log-path=/var/log/audit.log", "-v=2"}
			d.ControllerManager.ExtraArgs = []string{"--kube-api-qps=50"}
			d.Env = []config.EnvVar{{Name: "GODEBUG", Value: "x509sha1=1"}}
		}},
		{"k8s-command-override", "k8s", "etcd-external", func(d *config.K8sDistro) {
			d.APIServer.Command = []string{"/opt/custom/kube-apiserver", "--etcd-servers=https://x:2379"}
			d.APIServer.ExtraArgs = []string{"--v=4"}
		}},
		{"eks-kine", "eks", "kine", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{Name: "vc"}
			if err := cfg.SetDistro(tc.distro); err != nil {
				t.Fatal(err)
			}
			d := &cfg.ControlPlane.Distro.K8s
			if tc.distro == "eks" {
				d = &cfg.ControlPlane.Distro.EKS
			}
			if tc.mutate != nil {
				tc.mutate(d)
			}
			drv, err := Get(tc.distro)
			if err != nil {
				t.Fatal(err)
			}
			opts := goldenOptions(pki, cfg, "", ep[tc.endpoint])
			opts.BinDir = "/usr/local/lib/vkube/kube/v1.34.2"
			comps, err := drv.Components(opts)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, renderComponents(pki, comps))
			for _, c := range comps {
				seen := map[string]bool{}
				for _, a := range c.Args {
					name, _, _ := strings.Cut(a, "=")
					if seen[name] && strings.HasPrefix(name, "--") {
						t.Errorf("%s: flag %s given twice", c.Name, name)
					}
					seen[name] = true
				}
			}
		})
	}
}

func TestUnknownDistro(t *testing.T) {
	if _, err := Get("k9s"); err == nil || !strings.Contains(err.Error(), "k8s") {
		t.Fatalf("err = %v", err)
	}
}

// The endpoint controllers stay on in every distro ("*" less disabledControllers): the syncer
// copies the slices that endpointslice-mirroring makes from a selectorless Service's Endpoints.
func TestEndpointControllersStayOn(t *testing.T) {
	for _, c := range disabledControllers {
		if c == "endpoint" || c == "endpointslice" || c == "endpointslice-mirroring" {
			t.Errorf("controller %s is disabled: selectorless Services would get no endpoints on the host", c)
		}
	}
}
