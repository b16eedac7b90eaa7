package start

import (
	"github.com/spf13/cobra"

	"vkube.io/vkube/config"
)

// DatastoreFlags are the flags of `vkube start` that decide which virtual cluster it is and
// which datastore it uses. `vkube drop-database` takes the same ones, so that it finds the
// database `vkube start` made from the same inputs.
type DatastoreFlags struct {
	f   *flags
	cmd *cobra.Command
}

// AddDatastoreFlags adds -f/--config, --name, --host-namespace, --backend, --datastore-endpoint
// and --datastore-endpoint-file to cmd.
func AddDatastoreFlags(cmd *cobra.Command) *DatastoreFlags {
	d := &DatastoreFlags{f: &flags{}, cmd: cmd}
	addDatastoreFlags(cmd, d.f)
	return d
}

// Config is the validated configuration the flags, the files and VKUBE_DATASTORE_ENDPOINT give,
// read exactly as `vkube start` reads it, with warnings to show.
func (d *DatastoreFlags) Config() (*config.Config, []string, error) {
	return buildConfig(d.f, d.cmd.Flags().Changed)
}

// Namespace is --host-namespace ("" when standalone).
func (d *DatastoreFlags) Namespace() string { return d.f.namespace }

func addDatastoreFlags(cmd *cobra.Command, f *flags) {
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "virtual cluster name: a DNS-1123 label of at most 52 characters (default: the config's name, or \"vkube\")")
	fl.StringArrayVarP(&f.configFiles, "config", "f", nil, "vkube.yaml or legacy vcluster values file; repeat to layer files")
	fl.StringVar(&f.namespace, "host-namespace", "", "host namespace the virtual cluster lives in and syncs its pods to")
	fl.StringVar(&f.backend, "backend", "", "datastore: sqlite, mysql, mariadb, postgres or etcd (default sqlite)")
	fl.StringVar(&f.endpoint, "datastore-endpoint", "", "DSN (mysql://…, postgres://…) or etcd URLs (https://a:2379,https://b:2379); env VKUBE_DATASTORE_ENDPOINT")
	fl.StringVar(&f.endpointFile, "datastore-endpoint-file", "", "file holding the datastore DSN or URLs")
	_ = cmd.RegisterFlagCompletionFunc("backend", cobra.FixedCompletions([]string{"sqlite", "mysql", "mariadb", "postgres", "etcd"}, cobra.ShellCompDirectiveNoFileComp))
}
