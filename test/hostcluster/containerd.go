package hostcluster

import (
	"fmt"
	"strconv"

	"vkube.io/vkube/test/images"
)

// containerdConfig keeps containerd's whole state under Dir and on its own socket, so it never
// meets a containerd the machine may run itself.
func (c Config) containerdConfig(b bins) string {
	l := newLayout(c.Dir)
	q := strconv.Quote
	return fmt.Sprintf(`version = 2
root = %s
state = %s
oom_score = 0

[grpc]
  address = %s

[ttrpc]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = %s

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %s
  # Pod sandbox mounts live under Dir, so Down finds them.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true
  enable_unprivileged_ports = true
  enable_unprivileged_icmp = true
  # Root here lacks CAP_SYS_RESOURCE: runc could not lower a sandbox's oom_score_adj to -998.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = %s
        Root = %s
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %s
    conf_dir = %s
    max_conf_num = 1
`, q(l.containerd("root")), q(l.containerd("state")), q(l.containerdSocket()), q(l.containerd("opt")),
		q(images.Pause.Ref), q(b.tools["runc"]), q(l.containerd("runc")), q(cniDir), q(l.cniConf()))
}

func (c Config) containerdProc(b bins) proc {
	return proc{name: "containerd", path: b.tools["containerd"], args: []string{"--config", newLayout(c.Dir).etc("containerd.toml")}}
}
