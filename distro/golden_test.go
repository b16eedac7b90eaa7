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

// Drivers are pinned by golden files of the exact command lines and files they produce (k3s
// and k0s binaries cannot be had here to run them): go test ./distro/ -update rewrites them.
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
		"kine": {Servers: []string{"https://127.0.0.1:41379"}, TLS: backend.TLSFiles{
			CAFile: pki.Path(certs.EtcdCACert), CertFile: pki.Path(certs.APIServerEtcdClientCert), KeyFile: pki.Path(certs.APIServerEtcdClientKey)}},
		"etcd-embedded": {Servers: []string{"https://127.0.0.1:2379"}, TLS: backend.TLSFiles{
			CAFile: pki.Path(certs.EtcdCACert), CertFile: pki.Path(certs.APIServerEtcdClientCert), KeyFile: pki.Path(certs.APIServerEtcdClientKey)}},
		"etcd-external": {Servers: []string{"https://etcd-0.etcd:2379", "https://etcd-1.etcd:2379"}, TLS: backend.TLSFiles{
			CAFile: "/etc/etcd/ca.crt", CertFile: "/etc/etcd/client.crt", KeyFile: "/etc/etcd/client.key"},
			Prefix: "/vkube_team-a_vc/registry"},
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
