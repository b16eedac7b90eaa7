// Package certscmd is `vkube certs`: a virtual cluster's certificates.
package certscmd

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"vkube.io/vkube/certs"
	clicerts "vkube.io/vkube/cli/certs"
	"vkube.io/vkube/cli/hostflags"
)

// NewCommand builds `vkube certs`.
func NewCommand(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Inspect a virtual cluster's certificates",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCheckCommand(out))
	return cmd
}

func newCheckCommand(out io.Writer) *cobra.Command {
	var host *hostflags.Flags
	var dataDir, output string
	cmd := &cobra.Command{
		Use:   "check [NAME]",
		Short: "Print every certificate of a virtual cluster with its SANs, issuer and expiry",
		Long: `Print every certificate of a virtual cluster: the authorities (ten years) and the leaves
(one year; the supervisor renews a leaf when a third of its life is left). NAME is a virtual
cluster in a host namespace (its PKI Secret NAME-certs); --data-dir reads a standalone one's.`,
		Example: `  vkube certs check my-vcluster
  vkube certs check my-vcluster -n team-a -o json
  vkube certs check --data-dir /var/lib/vkube/dev`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var infos []certs.Info
			var err error
			switch {
			case len(args) == 1 && dataDir != "":
				return fmt.Errorf("give a virtual cluster NAME or --data-dir, not both")
			case dataDir != "":
				infos, err = clicerts.FromDataDir(cmd.Context(), dataDir)
			case len(args) == 1:
				infos, err = clicerts.FromHost(cmd.Context(), host, args[0])
			default:
				return fmt.Errorf("give a virtual cluster NAME (in a host namespace) or --data-dir DIR (standalone)")
			}
			if err != nil {
				return err
			}
			return clicerts.Print(out, infos, output, time.Now())
		},
	}
	host = hostflags.Add(cmd)
	cmd.ValidArgsFunction = hostflags.CompleteNames(host)
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data dir of a standalone virtual cluster (vkube start --data-dir)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json (default a table)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
