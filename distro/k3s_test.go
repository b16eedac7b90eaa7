package distro

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/certs"
	"vkube.io/vkube/config"
)

// k3s and k0s binaries cannot be had here, so their drivers are pinned by golden files of the
// exact command lines and files they produce: go test ./distro/ -update rewrites them.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/golden")
	}
}

const goldenDataDir = "/var/lib/vkube/vc"

func goldenPKI(t *testing.T) *certs.PKI {
	t.Helper()
	pki, _, err := certs.Ensure(context.Background(), certs.NewDirStore(t.TempDir()), t.TempDir(), certs.Options{Name: "vc"})
	if err != nil {
		t.Fatal(err)
	}
	return pki
}

// goldenEndpoints are the three shapes a datastore reaches a single-binary distro in.
func goldenEndpoints(pki *certs.PKI) map[string]backend.Endpoint {
	return map[string]backend.Endpoint{
		"kine": {Servers: []string{"http://127.0.0.1:41379"}},
		"etcd-embedded": {Servers: []string{"https://127.0.0.1:2379"}, TLS: backend.TLSFiles{
			CAFile: pki.Path(certs.EtcdCACert), CertFile: pki.Path(certs.APIServerEtcdClientCert), KeyFile: pki.Path(certs.APIServerEtcdClientKey)}},
		"etcd-external": {Servers: []string{"https://etcd-0.etcd:2379", "https://etcd-1.etcd:2379"}, TLS: backend.TLSFiles{
			CAFile: "/etc/etcd/ca.crt", CertFile: "/etc/etcd/client.crt", KeyFile: "/etc/etcd/client.key"}},
	}
}

func goldenOptions(pki *certs.PKI, cfg *config.Config, binary string, ep backend.Endpoint) Options {
	return Options{Config: cfg, Namespace: "team-a", Binary: binary, DataDir: goldenDataDir, PKI: pki, Endpoint: ep,
		BindAddress: "0.0.0.0", AdvertiseAddress: "10.1.2.3", Port: 6443, ServiceCIDR: "10.96.0.0/12",
		ClusterDomain: "cluster.local", Replicas: 1}
}

// renderComponents prints components with PKI material named instead of shown and the PKI's
// temporary directory replaced, so the output is the same on every run.
func renderComponents(pki *certs.PKI, comps []Component) string {
	var b strings.Builder
	for _, c := range comps {
		fmt.Fprintf(&b, "== %s (serves API: %t)\npath: %s\nargs:\n", c.Name, c.ServesAPI, c.Path)
		for _, a := range c.Args {
			fmt.Fprintf(&b, "  %s\n", a)
		}
		b.WriteString("env:\n")
		for _, e := range c.Env {
			fmt.Fprintf(&b, "  %s\n", e)
		}
		for _, p := range slices.Sorted(func(yield func(string) bool) {
			for p := range c.Files {
				if !yield(p) {
					return
				}
			}
		}) {
			content := string(c.Files[p])
			for _, name := range certs.FileNames() {
				if pem := string(pki.File(name)); pem != "" {
					content = strings.ReplaceAll(content, pem, "<pki "+name+">\n")
				}
			}
			if !strings.HasSuffix(content, "\n") {
				content += "\n"
			}
			fmt.Fprintf(&b, "-- file %s\n%s", p, content)
		}
	}
	return strings.ReplaceAll(b.String(), pki.Dir, "$PKI")
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if flag.Lookup("update").Value.String() == "true" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./distro/ -update to create it)", err)
	}
	if got == string(want) {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		if i >= len(g) || i >= len(w) || g[i] != w[i] {
			t.Fatalf("%s differs at line %d:\n got: %q\nwant: %q\n(run go test ./distro/ -update if the change is intended)", path, i+1, at(g, i), at(w, i))
		}
	}
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "<end of file>"
}

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
	}
}
