// Package dropdbcmd is `vkube drop-database`.
package dropdbcmd

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/cli/startconfig"
)

// NewCommand builds `vkube drop-database`.
func NewCommand(out, errOut io.Writer) *cobra.Command {
	var ds startconfig.Flags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "drop-database",
		Short: "Drop the database vkube made for a virtual cluster on a shared database server",
		Long: `Drop the database that vkube start made for one virtual cluster on a MySQL/MariaDB or
PostgreSQL server, because its DSN named no database (vkube_<namespace>_<name>). Give the
same --name, --host-namespace, config files and datastore flags as to vkube start. Stop the
virtual cluster first: its objects are gone for good.

A DSN that names a database is refused: that database is yours, and vkube never drops it.
SQLite and embedded etcd live in the data dir, so deleting it removes them. Like vkube start,
prefer VKUBE_DATASTORE_ENDPOINT or --datastore-endpoint-file to keep the password off
process listings; it is never printed.

vkube delete NAME --drop-database does this for a virtual cluster in a host cluster, from a
pod there, which reaches the database server as the control plane did.`,
		Example: `  # the database of standalone virtual cluster team-a on PostgreSQL
  VKUBE_DATASTORE_ENDPOINT='postgres://vkube:secret@127.0.0.1:5432/?sslmode=disable' \
    vkube drop-database --name team-a --backend postgres

  # the database of team-a in host namespace vkube-team-a, from its config file
  vkube drop-database -f vkube.yaml --name team-a --host-namespace vkube-team-a`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, warnings, err := ds.Build(cmd.Flags().Changed)
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(errOut, "warning:", w)
			}
			bc, err := backend.ConfigFor(cfg, ds.Namespace)
			if err != nil {
				return err
			}
			db, err := backend.OwnDatabase(bc)
			if err != nil {
				return fmt.Errorf("virtual cluster %s: %w", cfg.Name, err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			existed, err := backend.DropDatabase(ctx, bc)
			if err != nil {
				return err
			}
			if existed {
				fmt.Fprintf(out, "dropped database %s on %s\n", db.Name, db.Server)
			} else {
				fmt.Fprintf(out, "database %s on %s does not exist: nothing to drop\n", db.Name, db.Server)
			}
			return nil
		},
	}
	ds.AddDatastoreFlags(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long to try to reach the database server and drop the database")
	return cmd
}
