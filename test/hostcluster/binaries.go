package hostcluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"

	"vkube.io/vkube/binaries"
)

// coreDNSVersion is what hack/coredns.sh builds.
const coreDNSVersion = "v1.15.0"

// cniDir is where Debian's containernetworking-plugins puts the plugins.
const cniDir = "/usr/lib/cni"

var (
	kubeComponents = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"}
	cniPlugins     = []string{"bridge", "host-local", "portmap", "loopback"}
	// hostTools come from Debian packages (hack/host-deps.sh); containerd runs the shim and runc.
	hostTools = []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "iptables", "iptables-save",
		"iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore", "conntrack", "ip", "go"}
)

// bins are the absolute paths of everything the cluster runs.
type bins struct {
	kubeDir string
	etcd    string
	coredns string
	tools   map[string]string
}

func (b bins) kube(name string) string { return filepath.Join(b.kubeDir, name) }

// findBinaries locates every binary; missing lists what is not there (nil when complete).
func findBinaries(kubeVersion string) (b bins, missing []string) {
	b.tools = map[string]string{}
	if dir, err := binaries.Find(kubeVersion, kubeComponents...); err == nil {
		b.kubeDir = dir
	} else {
		missing = append(missing, "Kubernetes "+kubeVersion+" "+strings.Join(kubeComponents, ", "))
	}
	if b.etcd = findEtcd(); b.etcd == "" {
		missing = append(missing, "etcd")
	}
	b.coredns = filepath.Join(binaries.CacheDir(), "coredns", coreDNSVersion, "coredns")
	if !executable(b.coredns) {
		missing = append(missing, "coredns "+coreDNSVersion)
	}
	for _, t := range hostTools {
		p, err := exec.LookPath(t)
		if err != nil {
			missing = append(missing, t)
			continue
		}
		b.tools[t] = p
	}
	for _, p := range cniPlugins {
		if !executable(filepath.Join(cniDir, p)) {
			missing = append(missing, "CNI plugin "+filepath.Join(cniDir, p))
		}
	}
	return b, missing
}

// findEtcd prefers the newest etcd hack/etcd-server.sh built (3.5+ has --unsafe-no-fsync and
// watch progress requests) and falls back to Debian's 3.4.
func findEtcd() string {
	dirs, _ := filepath.Glob(filepath.Join(binaries.CacheDir(), "etcd", "v*"))
	slices.SortFunc(dirs, func(a, b string) int { return compareVersions(filepath.Base(b), filepath.Base(a)) })
	for _, d := range dirs {
		if p := filepath.Join(d, "etcd"); executable(p) {
			return p
		}
	}
	if executable("/usr/bin/etcd") {
		return "/usr/bin/etcd"
	}
	return ""
}

// modernEtcd reports whether etcd is one hack/etcd-server.sh built (3.5+), not Debian's 3.4.
func modernEtcd(path string) bool {
	return strings.HasPrefix(path, filepath.Join(binaries.CacheDir(), "etcd")+string(filepath.Separator))
}

func executable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// compareVersions orders unparsable names first, so they are tried last when sorted descending.
func compareVersions(a, b string) int {
	va, errA := version.ParseGeneric(a)
	vb, errB := version.ParseGeneric(b)
	switch {
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	switch {
	case va.LessThan(vb):
		return -1
	case vb.LessThan(va):
		return 1
	}
	return 0
}
