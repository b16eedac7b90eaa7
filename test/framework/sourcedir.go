package framework

import (
	"os/exec"
	"strings"
)

// SourceDir is the directory of a package of this module (where `go build ./cmd` must run from),
// found through the go command, which works for binaries built with -trimpath too.
func SourceDir(importPath string) string {
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", importPath).Output()
	if err != nil {
		return "."
	}
	return strings.TrimSpace(string(out))
}

// RepoRoot is the module's root directory (the go.mod's).
func RepoRoot() string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "."
	}
	return strings.TrimSpace(string(out))
}
