package hostcluster

import (
	"context"
	"fmt"
	"time"

	"vkube.io/vkube/test/images"
)

// buildImages packs the test images (pause, hello) into Dir/images.
func (c Config) buildImages(ctx context.Context) ([]string, error) {
	tars, err := images.BuildAll(ctx, newLayout(c.Dir).images())
	if err != nil {
		return nil, fmt.Errorf("test images: %w", err)
	}
	return tars, nil
}

// importImage makes a docker-archive or OCI tarball's images available to the kubelet.
func (c Config) importImage(ctx context.Context, b bins, tar string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if _, err := command(ctx, b.tools["ctr"], "--address", newLayout(c.Dir).containerdSocket(), "-n", "k8s.io", "images", "import", tar); err != nil {
		return fmt.Errorf("load image %s: %w", tar, err)
	}
	return nil
}
