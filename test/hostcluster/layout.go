package hostcluster

import "path/filepath"

// layout names every path under Dir, so Up and Down agree on them.
type layout struct{ dir string }

func newLayout(dir string) layout { return layout{dir: dir} }

func (l layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.dir}, elem...)...)
}

func (l layout) configFile() string            { return l.path("cluster.json") }
func (l layout) kubeconfig() string            { return l.path("kubeconfig.yaml") }
func (l layout) pki() string                   { return l.path("pki") }
func (l layout) etc(name string) string        { return l.path("etc", name) }
func (l layout) run(name string) string        { return l.path("run", name) }
func (l layout) logFile(name string) string    { return l.path("logs", name+".log") }
func (l layout) pidFile(name string) string    { return l.run(name + ".pid") }
func (l layout) bin(name string) string        { return l.path("bin", name) }
func (l layout) images() string                { return l.path("images") }
func (l layout) etcdData() string              { return l.path("etcd") }
func (l layout) containerd(name string) string { return l.path("containerd", name) }
func (l layout) containerdSocket() string      { return l.run("containerd.sock") }
func (l layout) cniConf() string               { return l.path("cni", "net.d") }
func (l layout) cniIPAM() string               { return l.path("cni", "ipam") }
func (l layout) kubeletRoot() string           { return l.path("kubelet") }
func (l layout) podLogs() string               { return l.path("pod-logs") }
func (l layout) volumes() string               { return l.path("volumes") }

// dirs are created by Up before anything is written.
func (l layout) dirs() []string {
	return []string{
		l.pki(), l.path("etc"), l.path("run"), l.path("logs"), l.path("bin"), l.images(),
		l.containerd("root"), l.containerd("state"), l.containerd("runc"), l.containerd("opt"),
		l.cniConf(), l.cniIPAM(), l.kubeletRoot(), l.podLogs(), l.volumes(),
	}
}
