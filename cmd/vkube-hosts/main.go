// Command vkube-hosts is the init container vkube adds to a synced pod with a subdomain: it
// copies the kubelet's /etc/hosts with the pod's virtual name into the file every container of
// the pod mounts at /etc/hosts.
//
//	vkube-hosts --from web-0.web.HOSTNS.svc. --to web-0.web.team.svc.cluster.local --out /vkube-hosts/hosts
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"vkube.io/vkube/syncer/translate/hostsfile"
)

func main() {
	in := flag.String("in", "/etc/hosts", "the hosts file the kubelet wrote")
	out := flag.String("out", "", "where the containers' hosts file goes")
	from := flag.String("from", "", "prefix of the host's names (hostname.subdomain.HOSTNS.svc.)")
	to := flag.String("to", "", "the virtual name that replaces them")
	flag.Parse()
	if err := run(*in, *out, *from, *to); err != nil {
		fmt.Fprintln(os.Stderr, "vkube-hosts:", err)
		os.Exit(1)
	}
}

func run(in, out, from, to string) error {
	if from == "" || to == "" || out == "" {
		return fmt.Errorf("--from, --to and --out are required")
	}
	hosts, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("reading the kubelet's hosts file: %w", err)
	}
	// A rerun (the pod's sandbox recreated) replaces the file whole.
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".tmp")
	if err := os.WriteFile(tmp, hostsfile.Rewrite(hosts, from, to), 0o644); err != nil {
		return fmt.Errorf("writing the pod's hosts file: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("writing the pod's hosts file: %w", err)
	}
	return nil
}
