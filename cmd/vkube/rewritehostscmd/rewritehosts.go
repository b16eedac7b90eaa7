// Package rewritehostscmd is `vkube rewrite-hosts`, hidden: the init container vkube adds to a
// synced pod with a subdomain runs it to write the pod's /etc/hosts with its virtual names.
package rewritehostscmd

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"vkube.io/vkube/syncer/translate"
)

// NewCommand builds `vkube rewrite-hosts`.
func NewCommand() *cobra.Command {
	var in, out, from, to string
	cmd := &cobra.Command{
		Use:    translate.RewriteHostsCommand,
		Short:  "Write a synced pod's /etc/hosts with its virtual names (the init container vkube adds)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if from == "" || to == "" || out == "" {
				return fmt.Errorf("--from, --to and --out are required")
			}
			hosts, err := os.ReadFile(in)
			if err != nil {
				return fmt.Errorf("reading the kubelet's hosts file: %w", err)
			}
			// A rerun (the pod's sandbox recreated) replaces the file whole.
			tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".tmp")
			if err := os.WriteFile(tmp, translate.RewriteHosts(hosts, from, to), 0o644); err != nil {
				return fmt.Errorf("writing the pod's hosts file: %w", err)
			}
			if err := os.Rename(tmp, out); err != nil {
				return fmt.Errorf("writing the pod's hosts file: %w", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&in, "in", "/etc/hosts", "the hosts file the kubelet wrote")
	fl.StringVar(&out, "out", "", "where the containers' hosts file goes")
	fl.StringVar(&from, "from", "", "prefix of the host's names (hostname.subdomain.HOSTNS.svc.)")
	fl.StringVar(&to, "to", "", "the virtual name that replaces them")
	return cmd
}
