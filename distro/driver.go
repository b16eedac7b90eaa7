// Package distro turns a virtual cluster's configuration into the control-plane processes that
// serve it. One Driver per distro (k8s, eks, k3s, k0s) renders command lines and config files;
// the package runs them as supervised children, apiserver first.
package distro

import (
	"fmt"
	"sort"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/certs"
	"vkube.io/vkube/config"
)

// Options is everything a driver needs to render its control plane.
type Options struct {
	Config *config.Config
	// Namespace is the host namespace ("" when standalone).
	Namespace string
	// BinDir holds the binaries of the wanted version; a single-binary distro gets Binary instead.
	BinDir string
	Binary string
	// DataDir is the writable state directory (certs, component cert dirs, k3s/k0s data).
	DataDir string
	PKI     *certs.PKI
	// Endpoint is where the datastore serves the etcd API.
	Endpoint backend.Endpoint
	// BindAddress and AdvertiseAddress of the apiserver; Port is its secure port.
	BindAddress      string
	AdvertiseAddress string
	Port             int
	ServiceCIDR      string
	// WebhookAddress is host:port of vkube's Service webhook ("" when vkube serves none, as
	// standalone): the API server is configured to present its webhook client certificate
	// there, and its kubelet client certificate is vkube's (the kubelet endpoint pins it).
	WebhookAddress string
	ClusterDomain  string
	Replicas       int
}

// Component is one child process a driver wants run.
type Component struct {
	Name string
	Path string
	Args []string
	Env  []string
	// Files are written (0600) before the component starts: path → content.
	Files map[string][]byte
	// ServesAPI marks the component whose /readyz is the control plane's readiness.
	ServesAPI bool
}

// Needs is what a distro asks of the parts started before it: the supervisor arranges them from
// this, so that it never knows a distro by name.
type Needs struct {
	// SingleBinary: the distro is one binary named after it, given in Options.Binary (and looked
	// for on PATH too), rather than upstream binaries in Options.BinDir.
	SingleBinary bool
	// DatastoreTCP: the distro dials the datastore with its own etcd client, which takes
	// http(s):// URLs only, so kine must listen on loopback TCP rather than a unix socket.
	DatastoreTCP bool
}

// Driver renders one distro's control plane.
type Driver interface {
	// Name is the distro name as users write it.
	Name() string
	// Needs is what the distro asks of the binaries lookup and the datastore.
	Needs() Needs
	// Binaries are the binary names the driver needs for a version.
	Binaries(opts Options) []string
	// Prepare keeps in opts.DataDir what the distro must find the same on every start, and fills
	// it into opts.Config; it runs once the data dir is locked, before Components.
	Prepare(opts *Options) error
	// Components returns the children in start order (stopped in reverse).
	Components(opts Options) ([]Component, error)
}

var drivers = map[string]Driver{}

func register(d Driver) { drivers[d.Name()] = d }

// Get returns the driver of a distro, or an error listing the known ones.
func Get(name string) (Driver, error) {
	if d, ok := drivers[name]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("distro %q is not known: use one of %v", name, Names())
}

// Names lists the known distros.
func Names() []string {
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
