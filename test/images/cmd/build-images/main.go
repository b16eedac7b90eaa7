// Command build-images writes the test images as docker-archive tarballs into a directory, for
// loading into a host cluster (make host-load-image TAR=…) or any containerd.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"vkube.io/vkube/test/images"
)

func main() {
	dir := flag.String("o", ".", "output directory")
	flag.Parse()
	tars, err := images.BuildAll(context.Background(), *dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build-images:", err)
		os.Exit(1)
	}
	for _, t := range tars {
		fmt.Println(t)
	}
}
