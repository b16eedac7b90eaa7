// Package version holds vkube's build version, set with -ldflags at build time.
package version

import "runtime"

// Set by the Makefile through -ldflags "-X vkube.io/vkube/version.Version=…".
var (
	Version   = "v0.0.0-dev"
	GitCommit = "unknown"
)

// Info is the printable version record.
type Info struct {
	Version   string `json:"version"`
	GitCommit string `json:"gitCommit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the version of this binary.
func Get() Info {
	return Info{Version: Version, GitCommit: GitCommit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
}
