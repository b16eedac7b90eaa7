package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

const testTag = "ghcr.io/vkube/vkube:0.1.0-k8s-v1.34.2"

// fakeInputs writes stand-in binaries and a CA bundle, each holding its own name.
func fakeInputs(t *testing.T) (dir string, args []string) {
	t.Helper()
	dir = t.TempDir()
	kube := filepath.Join(dir, "kube")
	if err := os.Mkdir(kube, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"} {
		writeFile(t, filepath.Join(kube, c), c, 0o700)
	}
	writeFile(t, filepath.Join(dir, "vkube"), "vkube v1", 0o700)
	writeFile(t, filepath.Join(dir, "vkube-hosts"), "vkube-hosts v1", 0o700)
	writeFile(t, filepath.Join(dir, "ca.crt"), "-----BEGIN CERTIFICATE-----\n", 0o600)
	return dir, []string{"--vkube", filepath.Join(dir, "vkube"), "--hosts-helper", filepath.Join(dir, "vkube-hosts"), "--kube-dir", kube, "--kube-version", "v1.34.2",
		"--ca-certs", filepath.Join(dir, "ca.crt"), "--tag", testTag, "--out", filepath.Join(dir, "out", "image.tar")}
}

func writeFile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func buildImage(t *testing.T, args []string) (string, string) {
	t.Helper()
	var out bytes.Buffer
	if err := run(args, &out); err != nil {
		t.Fatal(err)
	}
	return args[len(args)-1], out.String()
}

func readImage(t *testing.T, p string) v1.Image {
	t.Helper()
	tag, err := name.NewTag(testTag)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(p, &tag)
	if err != nil {
		t.Fatalf("read %s back as %s: %v", p, testTag, err)
	}
	return img
}

type entry struct {
	typ      byte
	mode     int64
	uid, gid int
	content  string
}

// layerEntries lists each layer's tar entries in order, with the regular files' contents.
func layerEntries(t *testing.T, img v1.Image) ([][]string, map[string]entry) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var names [][]string
	all := map[string]entry{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		var ns []string
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			ns = append(ns, h.Name)
			all[h.Name] = entry{h.Typeflag, h.Mode, h.Uid, h.Gid, string(data)}
		}
		rc.Close()
		names = append(names, ns)
	}
	return names, all
}

func TestImage(t *testing.T) {
	_, args := fakeInputs(t)
	out, _ := buildImage(t, args)
	img := readImage(t, out)

	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(out) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{testTag}) {
		t.Fatalf("manifest.json = %+v, want one image tagged %s", m, testTag)
	}
	for _, l := range m[0].Layers {
		if !strings.HasSuffix(l, ".tar") {
			t.Errorf("layer file %s: want an uncompressed .tar", l)
		}
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("digests, sizes and diff IDs do not match the contents: %v", err)
	}

	layers, files := layerEntries(t, img)
	wantLayers := [][]string{
		{"etc/", "etc/group", "etc/nsswitch.conf", "etc/passwd", "etc/ssl/", "etc/ssl/certs/", "etc/ssl/certs/ca-certificates.crt", "tmp/", "data/"},
		{"usr/", "usr/local/", "usr/local/lib/", "usr/local/lib/vkube/", "usr/local/lib/vkube/kube/", "usr/local/lib/vkube/kube/v1.34.2/",
			"usr/local/lib/vkube/kube/v1.34.2/kube-apiserver", "usr/local/lib/vkube/kube/v1.34.2/kube-controller-manager", "usr/local/lib/vkube/kube/v1.34.2/kube-scheduler"},
		{"usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/vkube", "usr/local/bin/vkube-hosts"},
	}
	if len(layers) != len(wantLayers) {
		t.Fatalf("%d layers %q, want %d: system files, kube binaries, vkube", len(layers), layers, len(wantLayers))
	}
	for i := range wantLayers {
		if !slices.Equal(layers[i], wantLayers[i]) {
			t.Errorf("layer %d holds\n %q\nwant\n %q", i, layers[i], wantLayers[i])
		}
	}

	want := map[string]entry{
		"usr/local/bin/vkube":                                      {tar.TypeReg, 0o755, 0, 0, "vkube v1"},
		"usr/local/bin/vkube-hosts":                                {tar.TypeReg, 0o755, 0, 0, "vkube-hosts v1"},
		"usr/local/lib/vkube/kube/v1.34.2/kube-apiserver":          {tar.TypeReg, 0o755, 0, 0, "kube-apiserver"},
		"usr/local/lib/vkube/kube/v1.34.2/kube-controller-manager": {tar.TypeReg, 0o755, 0, 0, "kube-controller-manager"},
		"usr/local/lib/vkube/kube/v1.34.2/kube-scheduler":          {tar.TypeReg, 0o755, 0, 0, "kube-scheduler"},
		"usr/local/lib/vkube/kube/v1.34.2/":                        {tar.TypeDir, 0o755, 0, 0, ""},
		"etc/ssl/certs/ca-certificates.crt":                        {tar.TypeReg, 0o644, 0, 0, "-----BEGIN CERTIFICATE-----\n"},
		"etc/nsswitch.conf":                                        {tar.TypeReg, 0o644, 0, 0, "hosts: files dns\n"},
		"tmp/":                                                     {tar.TypeDir, 0o1777, 0, 0, ""},
		"data/":                                                    {tar.TypeDir, 0o750, 1000, 1000, ""},
	}
	for p, w := range want {
		if got := files[p]; got != w {
			t.Errorf("%s = %+v, want %+v", p, got, w)
		}
	}
	for _, f := range []string{"etc/passwd", "etc/group"} {
		if e := files[f]; e.mode != 0o644 || e.uid != 0 || !strings.Contains(e.content, "vkube:x:1000:") || !strings.HasPrefix(e.content, "root:x:0:") {
			t.Errorf("%s = %+v, want root and vkube (1000), 0644", f, e)
		}
	}
	if !strings.Contains(files["etc/passwd"].content, "vkube:x:1000:1000:vkube:/tmp:") {
		t.Errorf("etc/passwd: vkube's home is not /tmp: %q", files["etc/passwd"].content)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	c := cf.Config
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/vkube"}) || !slices.Equal(c.Cmd, []string{"start"}) {
		t.Errorf("entrypoint %q cmd %q, want [/usr/local/bin/vkube] [start]", c.Entrypoint, c.Cmd)
	}
	if c.User != "1000:1000" || c.WorkingDir != "/tmp" {
		t.Errorf("user %q workdir %q, want 1000:1000 /tmp", c.User, c.WorkingDir)
	}
	if !slices.Equal(c.Env, []string{"PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=/tmp"}) {
		t.Errorf("env %q", c.Env)
	}
	if v := c.Labels["org.opencontainers.image.version"]; v != "0.1.0-k8s-v1.34.2" {
		t.Errorf("version label %q, want 0.1.0-k8s-v1.34.2", v)
	}
}

// TestImageRebuild: same inputs leave the tarball alone; a new vkube changes only the last layer.
func TestImageRebuild(t *testing.T) {
	dir, args := fakeInputs(t)
	out, _ := buildImage(t, args)
	before := layerDigests(t, readImage(t, out))

	if _, msg := buildImage(t, args); !strings.Contains(msg, "unchanged") {
		t.Errorf("second build with the same inputs: %q, want unchanged", msg)
	}

	writeFile(t, filepath.Join(dir, "vkube"), "vkube v2", 0o755)
	if _, msg := buildImage(t, args); !strings.Contains(msg, "wrote") {
		t.Errorf("build with a new vkube: %q, want wrote", msg)
	}
	after := layerDigests(t, readImage(t, out))
	if len(after) != 3 || before[0] != after[0] || before[1] != after[1] || before[2] == after[2] {
		t.Errorf("layers %v -> %v: want the system and kube layers kept, the vkube layer changed", before, after)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", ".image.tar.tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

func layerDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var ds []v1.Hash
	for _, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

func TestImageErrors(t *testing.T) {
	dir, args := fakeInputs(t)
	if err := os.Remove(filepath.Join(dir, "kube", "kube-scheduler")); err != nil {
		t.Fatal(err)
	}
	err := run(args, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "kube-scheduler") || !strings.Contains(err.Error(), "hack/kube-binaries.sh v1.34.2") {
		t.Errorf("missing kube-scheduler: %v, want an error naming it and how to build it", err)
	}
	if _, err := os.Stat(args[len(args)-1]); !os.IsNotExist(err) {
		t.Errorf("a failed build wrote %s: %v", args[len(args)-1], err)
	}
	for _, bad := range [][]string{
		{"--tag", "ghcr.io/vkube/vkube", "--kube-version", "v1.34.2"},
		{"--tag", testTag, "--kube-version", "1.34"},
		{"--tag", testTag},
	} {
		if err := run(bad, io.Discard); err == nil {
			t.Errorf("run %q: no error", bad)
		}
	}
}
