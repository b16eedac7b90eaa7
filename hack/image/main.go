// Command image packs the vkube image without Docker or a registry: vkube and the Kubernetes
// control-plane binaries of one version in a scratch image, written as a docker-archive tarball
// (docker load, ctr images import). `make image` runs it; the Dockerfile builds the same image.
//
//	go run ./hack/image --vkube bin/vkube --hosts-helper bin/vkube-hosts --kube-version v1.34.2 \
//	    --tag ghcr.io/vkube/vkube:0.1.0-k8s-v1.34.2 --out bin/vkube-image.tar
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"vkube.io/vkube/binaries"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fl := flag.NewFlagSet("image", flag.ContinueOnError)
	var in inputs
	var ref, dest string
	fl.StringVar(&in.vkube, "vkube", "bin/vkube", "the static vkube binary")
	fl.StringVar(&in.hostsHelper, "hosts-helper", "bin/vkube-hosts", "the static vkube-hosts binary (synced pods' /etc/hosts helper)")
	fl.StringVar(&in.kubeVersion, "kube-version", "", "Kubernetes version of the control-plane binaries, e.g. v1.34.2")
	fl.StringVar(&in.kubeDir, "kube-dir", "", "directory holding kube-apiserver, kube-controller-manager and kube-scheduler (default: the hack/kube-binaries.sh cache of --kube-version)")
	fl.StringVar(&in.caCerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle copied into the image")
	fl.StringVar(&ref, "tag", "", "image reference, e.g. ghcr.io/vkube/vkube:0.1.0-k8s-v1.34.2")
	fl.StringVar(&dest, "out", "bin/vkube-image.tar", "docker-archive tarball to write")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 || ref == "" || in.kubeVersion == "" {
		return fmt.Errorf("usage: image --kube-version vX.Y.Z --tag REPO:TAG [--vkube FILE] [--hosts-helper FILE] [--kube-dir DIR] [--out FILE]")
	}
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("--tag: %w", err)
	}
	in.version = tag.TagStr()
	if in.kubeDir == "" {
		in.kubeDir = filepath.Join(binaries.CacheDir(), "kube", in.kubeVersion)
	}

	start := time.Now()
	img, err := build(in)
	if err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
	}
	written, err := write(dest, tag, img)
	if err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
	}
	st, err := os.Stat(dest)
	if err != nil {
		return err
	}
	verb := "wrote"
	if !written {
		verb = "unchanged"
	}
	fmt.Fprintf(out, "image: %s %s (%s, %.0f MB) in %s\n", verb, dest, tag, float64(st.Size())/1e6, time.Since(start).Round(10*time.Millisecond))
	return nil
}

// write replaces dest atomically, unless it already holds this image under this tag.
func write(dest string, tag name.Tag, img v1.Image) (bool, error) {
	cfg, err := img.ConfigName()
	if err != nil {
		return false, err
	}
	if holds(dest, tag, cfg) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return false, err
	}
	tmp := filepath.Join(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp")
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("write %s: %w", dest, err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("write %s: %w", dest, err)
	}
	return true, nil
}

// holds reports whether the tarball at p has exactly one image, tagged tag, with config cfg. The
// config lists every layer's diff ID, so equal configs mean equal contents; dest is only ever
// written whole (tmp + rename), so its layers are there.
func holds(p string, tag name.Tag, cfg v1.Hash) bool {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(p) })
	if err != nil || len(m) != 1 {
		return false
	}
	return m[0].Config == cfg.String() && len(m[0].RepoTags) == 1 && m[0].RepoTags[0] == tag.String()
}
