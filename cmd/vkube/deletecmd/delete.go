// Package deletecmd is `vkube delete`.
package deletecmd

import (
	"io"
	"time"

	"github.com/spf13/cobra"

	"vkube.io/vkube/cli/connect"
	"vkube.io/vkube/cli/hostflags"
	"vkube.io/vkube/cli/lifecycle"
)

// NewCommand builds `vkube delete`.
func NewCommand(errOut io.Writer) *cobra.Command {
	var host *hostflags.Flags
	o := lifecycle.DeleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a virtual cluster and everything it made on the host",
		Long: `Delete uninstalls the virtual cluster's chart, then removes what its control plane made in
the host namespace: synced pods, services, secrets, config maps, volume claims, isolation
objects, its PKI and kubeconfig Secrets, and the cluster-scoped twins its syncer made (priority
classes, storage classes, persistent volumes; a kind you may not list is skipped with a note).
A namespace that vkube create made is deleted too.

--drop-database first drops the database vkube made for the virtual cluster on a shared
MySQL/MariaDB or PostgreSQL server (its DSN named no database): the control plane stops, and a
one-shot pod NAME-drop-database, made from the control plane's pod so that it reaches the
server the same way, runs vkube drop-database. Any other datastore, or a DSN that names a
database (yours, never dropped), is refused before anything is deleted. If dropping fails, the
pod's log is shown and the virtual cluster is left paused, to retry or resume.`,
		Example: `  vkube delete my-vcluster

  # keep the data volumes, delete the namespace even if vkube did not create it
  vkube delete my-vcluster -n team-a --keep-pvc --delete-namespace

  # drop its database on the shared PostgreSQL server too
  vkube delete my-vcluster --drop-database`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := host.Resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			o.Name, o.Namespace = args[0], ns
			if err := lifecycle.Delete(cmd.Context(), host, o, errOut); err != nil {
				return err
			}
			hostContext, _ := host.CurrentContext()
			return connect.Forget(args[0], ns, hostContext)
		},
	}
	host = hostflags.Add(cmd)
	cmd.ValidArgsFunction = hostflags.CompleteNames(host)
	cmd.Flags().BoolVar(&o.KeepPVC, "keep-pvc", false, "keep the persistent volume claims (control-plane data and synced claims)")
	cmd.Flags().BoolVar(&o.DeleteNamespace, "delete-namespace", false, "delete the host namespace too")
	cmd.Flags().BoolVar(&o.DropDatabase, "drop-database", false, "drop the database vkube made for the virtual cluster on a shared database server (a DSN that names no database)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 5*time.Minute, "how long to wait for the pods to go")
	return cmd
}
