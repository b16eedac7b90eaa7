package hostsfile

import "testing"

// The pod's own lines (every address of a dual-stack pod) get the virtual name; the tenant's
// hostAliases, even one that looks like the host's name, stay.
func TestRewrite(t *testing.T) {
	kubelet := "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::2\tip6-allrouters\n10.0.0.5\tweb-0.web.host-ns.svc.cluster.local\tweb-0\nfd00::5\tweb-0.web.host-ns.svc.cluster.local\tweb-0\n" +
		"\n# Entries added by HostAliases.\n10.9.9.9\tweb-0.web.host-ns.svc.example\n"
	got := string(Rewrite([]byte(kubelet), "web-0.web.host-ns.svc.", "web-0.web.team.svc.cluster.local"))
	want := "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::2\tip6-allrouters\n10.0.0.5\tweb-0.web.team.svc.cluster.local\tweb-0\nfd00::5\tweb-0.web.team.svc.cluster.local\tweb-0\n" +
		"\n# Entries added by HostAliases.\n10.9.9.9\tweb-0.web.host-ns.svc.example\n"
	if got != want {
		t.Errorf("Rewrite:\n%s\nwant:\n%s", got, want)
	}
}
