// Package listcmd is `vkube list`.
package listcmd

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"

	"vkube.io/vkube/cli/connect"
	"vkube.io/vkube/cli/hostflags"
	"vkube.io/vkube/cli/lifecycle"
)

// NewCommand builds `vkube list`.
func NewCommand(out io.Writer) *cobra.Command {
	var output string
	var host *hostflags.Flags
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the virtual clusters of the host cluster",
		Example: `  # every virtual cluster you can see
  vkube list

  # those of one namespace, as JSON
  vkube list -n team-a -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns := ""
			if host.NamespaceSet() {
				ns = host.Namespace("")
			}
			infos, err := lifecycle.List(cmd.Context(), host, ns)
			if err != nil {
				return err
			}
			current := connect.CurrentContext()
			for i := range infos {
				infos[i].Connected = current != "" && current == connect.ContextName(infos[i].Name, infos[i].Namespace, infos[i].Context)
			}
			switch output {
			case "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(infos)
			case "", "table":
				return table(out, infos)
			}
			return fmt.Errorf("-o %q is not supported: use table or json", output)
		},
	}
	host = hostflags.Add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func table(out io.Writer, infos []lifecycle.Info) error {
	w := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tNAMESPACE\tSTATUS\tCONNECTED\tCREATED\tAGE\tCONTEXT")
	for _, in := range infos {
		connected := ""
		if in.Connected {
			connected = "True"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.Name, in.Namespace, in.Status, connected,
			in.Created.Format("2006-01-02 15:04:05 -0700 MST"), duration.HumanDuration(time.Since(in.Created)), in.Context)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, in := range infos {
		if in.Message != "" {
			fmt.Fprintf(out, "%s/%s: %s\n", in.Namespace, in.Name, in.Message)
		}
	}
	return nil
}
