// Command vkube runs and manages virtual Kubernetes clusters.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"vkube.io/vkube/cli/connect"
	"vkube.io/vkube/cmd/vkube/certscmd"
	"vkube.io/vkube/cmd/vkube/connectcmd"
	"vkube.io/vkube/cmd/vkube/createcmd"
	"vkube.io/vkube/cmd/vkube/deletecmd"
	"vkube.io/vkube/cmd/vkube/dropdbcmd"
	"vkube.io/vkube/cmd/vkube/listcmd"
	"vkube.io/vkube/cmd/vkube/pausecmd"
	"vkube.io/vkube/cmd/vkube/start"
	"vkube.io/vkube/cmd/vkube/versioncmd"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		// `vkube connect NAME -- COMMAND` exits with COMMAND's status, which has said why.
		var exit *connect.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.Code)
		}
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
	root.AddCommand(
		createcmd.NewCommand(os.Stdout, os.Stderr),
		connectcmd.NewCommand(os.Stdout, os.Stderr),
		listcmd.NewCommand(os.Stdout),
		pausecmd.NewCommand(os.Stderr),
		pausecmd.NewResumeCommand(os.Stderr),
		deletecmd.NewCommand(os.Stderr),
		start.NewCommand(os.Stdout, os.Stderr),
		dropdbcmd.NewCommand(os.Stdout, os.Stderr),
		certscmd.NewCommand(os.Stdout),
		versioncmd.NewCommand(os.Stdout),
	)
	return root
}
