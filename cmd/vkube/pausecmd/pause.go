// Package pausecmd is `vkube pause` and its inverse `vkube resume`.
package pausecmd

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	"vkube.io/vkube/cli/hostflags"
	"vkube.io/vkube/cli/lifecycle"
)

// NewCommand builds `vkube pause`.
func NewCommand(errOut io.Writer) *cobra.Command {
	cmd := build(errOut, lifecycle.Pause, "how long to wait for the pods to go")
	cmd.Use = "pause NAME"
	cmd.Short = "Pause a virtual cluster: stop its control plane and its workloads on the host"
	cmd.Long = `Pause scales the virtual cluster's StatefulSet to zero (remembering its replicas) and
deletes the pods it synced to the host. Every object stays in the virtual cluster's datastore:
vkube resume brings the control plane back, and its syncer recreates the workloads.`
	return cmd
}

// NewResumeCommand builds `vkube resume`.
func NewResumeCommand(errOut io.Writer) *cobra.Command {
	cmd := build(errOut, lifecycle.Resume, "how long to wait for the virtual cluster to be ready")
	cmd.Use = "resume NAME"
	cmd.Short = "Resume a paused virtual cluster"
	cmd.Long = `Resume scales a paused virtual cluster's StatefulSet back to the replicas it had and waits
until it is ready; its syncer then recreates the workloads on the host.`
	return cmd
}

type action func(ctx context.Context, host *hostflags.Flags, name, ns string, timeout time.Duration, progress io.Writer) error

func build(errOut io.Writer, run action, timeoutHelp string) *cobra.Command {
	var host *hostflags.Flags
	var timeout time.Duration
	cmd := &cobra.Command{
		Example: `  vkube pause my-vcluster
  vkube resume my-vcluster`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := host.Resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return run(cmd.Context(), host, args[0], ns, timeout, errOut)
		},
	}
	host = hostflags.Add(cmd)
	cmd.ValidArgsFunction = hostflags.CompleteNames(host)
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, timeoutHelp)
	return cmd
}
