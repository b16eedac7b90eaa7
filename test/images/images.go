// Package images builds the container images the host cluster's tests run, from the Go commands
// in this directory, into docker-archive tarballs (no Docker, no registry): containerd imports
// them and pods use them with imagePullPolicy IfNotPresent.
package images

import "runtime"

// Image is one test image: the command test/images/<Name> as the only file of a scratch image.
type Image struct {
	// Name is the command's directory and the tarball's base name.
	Name string
	// Ref is the tag the image is imported as.
	Ref string
	// Entrypoint is where the binary sits in the image.
	Entrypoint string
}

var (
	// Pause is the pod sandbox image (containerd's sandbox_image).
	Pause = Image{Name: "pause", Ref: "registry.local/pause:3.10", Entrypoint: "/pause"}
	// Hello serves HTTP on 8080 and has client modes: get URL, lookup NAME, write FILE TEXT.
	Hello = Image{Name: "hello", Ref: "registry.local/hello:v1", Entrypoint: "/hello"}
)

// All lists every test image.
func All() []Image { return []Image{Pause, Hello} }

// arch is the platform of the images: the machine the tests run on.
const arch = runtime.GOARCH
