package main

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"vkube.io/vkube/binaries"
	"vkube.io/vkube/syncer/translate/hostsfile"
)

// rootfs holds /etc/passwd, /etc/group and /etc/nsswitch.conf; the Dockerfile copies the same files.
//
//go:embed rootfs
var rootfs embed.FS

const (
	vkubePath = "/usr/local/bin/vkube"
	uid       = 1000
	gid       = 1000
	// versionLabel carries the image tag's version (0.1.0-k8s-v1.34.2).
	versionLabel = "org.opencontainers.image.version"
)

// kubeComponents are the control-plane binaries shipped; kubectl is left out (vkube does not run it).
var kubeComponents = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"}

var kubeVersionRE = regexp.MustCompile(`^v1\.[0-9]+\.[0-9]+$`)

// inputs are the build machine's files the image is made of.
type inputs struct {
	vkube       string
	hostsHelper string
	kubeDir     string
	kubeVersion string
	caCerts     string
	version     string
}

// build assembles the image from scratch, in three layers from least to most often rebuilt: the
// small system files, the Kubernetes binaries, vkube. Rebuilding vkube leaves the first two layers,
// and so their digests, as they were.
func build(in inputs) (v1.Image, error) {
	if !kubeVersionRE.MatchString(in.kubeVersion) {
		return nil, fmt.Errorf("kube version must look like v1.34.2, got %q", in.kubeVersion)
	}
	system, err := systemFiles(in.caCerts)
	if err != nil {
		return nil, fmt.Errorf("system layer: %w", err)
	}
	var kube []file
	for _, c := range kubeComponents {
		f, err := fromDisk(rel(path.Join(binaries.ImageDir, in.kubeVersion, c)), 0o755, filepath.Join(in.kubeDir, c))
		if err != nil {
			return nil, fmt.Errorf("kube layer: %w (build it with hack/kube-binaries.sh %s)", err, in.kubeVersion)
		}
		kube = append(kube, f)
	}
	vkube, err := fromDisk(rel(vkubePath), 0o755, in.vkube)
	if err != nil {
		return nil, fmt.Errorf("vkube layer: %w (build it with make build)", err)
	}
	helper, err := fromDisk(rel(hostsfile.HelperPath), 0o755, in.hostsHelper)
	if err != nil {
		return nil, fmt.Errorf("vkube layer: %w (build it with make build)", err)
	}
	var layers []v1.Layer
	for _, files := range [][]file{system, kube, {vkube, helper}} {
		l, err := newLayer(files)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{
		Entrypoint: []string{vkubePath},
		Cmd:        []string{"start"},
		User:       fmt.Sprintf("%d:%d", uid, gid),
		Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=/tmp"},
		WorkingDir: "/tmp",
		Labels:     map[string]string{versionLabel: in.version},
	}
	return mutate.ConfigFile(img, cf)
}

// systemFiles are what a static Go binary running as a non-root user expects around it: users for
// id lookups, a resolver order, CA roots for TLS to external databases, a writable /tmp, and /data.
func systemFiles(caCerts string) ([]file, error) {
	var files []file
	err := fs.WalkDir(rootfs, "rootfs", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "rootfs" {
			return err
		}
		name := strings.TrimPrefix(p, "rootfs/")
		if d.IsDir() {
			files = append(files, dir(name, 0o755, 0, 0))
			return nil
		}
		data, err := rootfs.ReadFile(p)
		files = append(files, inline(name, 0o644, data))
		return err
	})
	if err != nil {
		return nil, err
	}
	ca, err := fromDisk("etc/ssl/certs/ca-certificates.crt", 0o644, caCerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w", err)
	}
	return append(files, ca, dir("tmp", 0o1777, 0, 0), dir("data", 0o750, uid, gid)), nil
}

// rel is an image path as a tar entry name.
func rel(p string) string { return strings.TrimPrefix(p, "/") }
