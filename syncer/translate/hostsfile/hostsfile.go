// Package hostsfile rewrites the /etc/hosts the host kubelet writes for a synced pod with a
// subdomain: its own line names the host namespace, which becomes the virtual one. It has no
// dependencies, so that the helper binary that runs it in every such pod (cmd/vkube-hosts) stays
// a few MiB: the whole vkube binary touches ~90 MiB of pages just to start.
package hostsfile

import (
	"bytes"
	"strings"
)

// HelperPath is where the vkube image carries the helper binary.
const HelperPath = "/usr/local/bin/vkube-hosts"

// aliasesMark starts the kubelet's section of the pod's own hostAliases, which are the tenant's
// words and stay as they are.
const aliasesMark = "# Entries added by HostAliases."

// Rewrite is hosts (the kubelet's file) with every name starting with from in the kubelet's own
// lines replaced by to.
func Rewrite(hosts []byte, from, to string) []byte {
	var out bytes.Buffer
	aliases := false
	for _, line := range strings.SplitAfter(string(hosts), "\n") {
		if strings.HasPrefix(line, aliasesMark) {
			aliases = true
		}
		if aliases || strings.HasPrefix(line, "#") {
			out.WriteString(line)
			continue
		}
		fields := strings.Split(line, "\t")
		for i, f := range fields {
			if i > 0 && strings.HasPrefix(f, from) {
				fields[i] = to + f[len(strings.TrimRight(f, "\n")):]
			}
		}
		out.WriteString(strings.Join(fields, "\t"))
	}
	return out.Bytes()
}
