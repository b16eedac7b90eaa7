// Command vkube runs and manages virtual Kubernetes clusters.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"vkube.io/vkube/cmd/vkube/start"
	"vkube.io/vkube/cmd/vkube/versioncmd"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "vkube",
		Short: "Virtual Kubernetes clusters inside one namespace of a host cluster",
		Long: `vkube runs fully functional virtual Kubernetes clusters: a real kube-apiserver and
controller-manager per cluster, on an embedded or external datastore, standalone or inside a
namespace of a host cluster.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(start.NewCommand(os.Stdout, os.Stderr), versioncmd.NewCommand(os.Stdout))
	return root
}
