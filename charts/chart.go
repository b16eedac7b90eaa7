// Package charts embeds the Helm chart that deploys a virtual cluster into a host namespace, so
// that the CLI installs it through the Helm SDK with no chart files or helm binary around.
package charts

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/ignore"
)

// DefaultImageRepository is the vkube image the chart runs when none is set.
const DefaultImageRepository = "ghcr.io/vkube/vkube"

// AppVersion is the chart's appVersion: the vkube release its default image tag names.
const AppVersion = "0.1.0"

// DefaultImageTag is the image tag the chart runs for a Kubernetes version (e.g. v1.34.2): each
// image carries the binaries of one version.
func DefaultImageTag(kubeVersion string) string {
	return AppVersion + "-k8s-" + kubeVersion
}

// chartDir is the chart's folder in the embedded files.
const chartDir = "vkube"

// The all: prefix keeps .helmignore, which Load applies like helm does to a chart folder.
//
//go:embed all:vkube
var files embed.FS

// Load returns the embedded vkube chart.
func Load() (*chart.Chart, error) {
	rules := ignore.Empty()
	if data, err := files.ReadFile(path.Join(chartDir, ignore.HelmIgnore)); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("loading the vkube chart: %s: %w", ignore.HelmIgnore, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("loading the vkube chart: %w", err)
	}
	rules.AddDefaults()

	var buffered []*archive.BufferedFile
	err := fs.WalkDir(files, chartDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == chartDir {
			return err
		}
		name := p[len(chartDir)+1:]
		info, err := d.Info()
		if err != nil {
			return err
		}
		if rules.Ignore(name, info) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		buffered = append(buffered, &archive.BufferedFile{Name: name, Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading the vkube chart: %w", err)
	}
	c, err := loader.LoadFiles(buffered)
	if err != nil {
		return nil, fmt.Errorf("loading the vkube chart: %w", err)
	}
	return c, nil
}
