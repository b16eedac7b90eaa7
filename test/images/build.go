package images

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"vkube.io/vkube/test/framework"
)

// Build compiles img's command statically and packs it into dir/<Name>.tar, returning the path.
// Rebuilding unchanged sources yields the same image digest, so re-importing is a no-op.
func Build(ctx context.Context, img Image, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build image %s: %w", img.Ref, err)
	}
	bin := filepath.Join(dir, img.Name+".bin")
	if err := compile(ctx, img.Name, bin); err != nil {
		return "", fmt.Errorf("build image %s: %w", img.Ref, err)
	}
	out := filepath.Join(dir, img.Name+".tar")
	if err := Pack(bin, img.Entrypoint, img.Ref, out); err != nil {
		return "", fmt.Errorf("build image %s: %w", img.Ref, err)
	}
	return out, nil
}

// BuildAll builds every image of All into dir.
func BuildAll(ctx context.Context, dir string) ([]string, error) {
	var tars []string
	for _, img := range All() {
		tar, err := Build(ctx, img, dir)
		if err != nil {
			return nil, err
		}
		tars = append(tars, tar)
	}
	return tars, nil
}

func compile(ctx context.Context, name, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./"+name)
	cmd.Dir = sourceDir()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./%s in %s: %w: %s", name, cmd.Dir, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func sourceDir() string { return framework.SourceDir("vkube.io/vkube/test/images") }
