package hostcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Paths the kubelet, containerd and libcni use whatever their configuration says.
const (
	containerLogLinks = "/var/log/containers"
	cniCacheDir       = "/var/lib/cni"
	devicePluginDir   = "/var/lib/kubelet/device-plugins"
	shimSocketDir     = "/run/containerd"
)

// removeHostFiles removes this cluster's files from the fixed host paths, and those paths'
// directories once empty; files of anything else there are kept.
func removeHostFiles(dir string) error {
	var errs []error
	remove := func(path string) {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	links, _ := filepath.Glob(filepath.Join(containerLogLinks, "*.log"))
	for _, link := range links {
		if target, err := os.Readlink(link); err == nil && strings.HasPrefix(target, dir+"/") {
			remove(link)
		}
	}
	// Results are named <network>-<sandbox ID>-<interface>; containerd's own loopback network
	// "cni-loopback" caches one per sandbox too.
	results, _ := filepath.Glob(filepath.Join(cniCacheDir, "results", "*"))
	var sandboxes []string
	for _, r := range results {
		if rest, ok := strings.CutPrefix(filepath.Base(r), cniNetwork+"-"); ok {
			if id, _, ok := strings.Cut(rest, "-"); ok {
				sandboxes = append(sandboxes, id)
			}
		}
	}
	for _, r := range results {
		for _, id := range sandboxes {
			if strings.Contains(filepath.Base(r), "-"+id+"-") {
				remove(r)
				break
			}
		}
	}
	remove(filepath.Join(devicePluginDir, "kubelet.sock"))
	for _, d := range []string{
		containerLogLinks, filepath.Join(cniCacheDir, "results"), cniCacheDir,
		devicePluginDir, filepath.Dir(devicePluginDir),
		filepath.Join(shimSocketDir, "s"), filepath.Join(shimSocketDir, "fifo"), filepath.Join(shimSocketDir, "runc"), shimSocketDir,
	} {
		removeIfEmpty(d)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("host files: %w", err)
	}
	return nil
}

func removeIfEmpty(dir string) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) == 0 {
		os.Remove(dir)
	}
}
