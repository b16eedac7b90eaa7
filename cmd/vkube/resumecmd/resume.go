// Package resumecmd is `vkube resume`.
package resumecmd

import (
	"io"
	"time"

	"github.com/spf13/cobra"

	"vkube.io/vkube/cmd/vkube/hostflags"
	"vkube.io/vkube/lifecycle"
)

// NewCommand builds `vkube resume`.
func NewCommand(errOut io.Writer) *cobra.Command {
	var host *hostflags.Flags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "resume NAME",
		Short: "Resume a paused virtual cluster",
		Long: `Resume scales a paused virtual cluster's StatefulSet back to the replicas it had and waits
until it is ready; its syncer then recreates the workloads on the host.`,
		Example: `  vkube pause my-vcluster
  vkube resume my-vcluster`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: hostflags.CompleteNames(&host),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := host.Resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return lifecycle.Resume(cmd.Context(), host, args[0], ns, timeout, errOut)
		},
	}
	host = hostflags.Add(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the virtual cluster to be ready")
	return cmd
}
