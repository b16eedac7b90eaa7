// Package pausecmd is `vkube pause`.
package pausecmd

import (
	"io"
	"time"

	"github.com/spf13/cobra"

	"vkube.io/vkube/cmd/vkube/hostflags"
	"vkube.io/vkube/lifecycle"
)

// NewCommand builds `vkube pause`.
func NewCommand(errOut io.Writer) *cobra.Command {
	var host *hostflags.Flags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "pause NAME",
		Short: "Pause a virtual cluster: stop its control plane and its workloads on the host",
		Long: `Pause scales the virtual cluster's StatefulSet to zero (remembering its replicas) and
deletes the pods it synced to the host. Every object stays in the virtual cluster's datastore:
vkube resume brings the control plane back, and its syncer recreates the workloads.`,
		Example: `  vkube pause my-vcluster
  vkube resume my-vcluster`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: hostflags.CompleteNames(&host),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := host.Resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return lifecycle.Pause(cmd.Context(), host, args[0], ns, timeout, errOut)
		},
	}
	host = hostflags.Add(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the pods to go")
	return cmd
}
