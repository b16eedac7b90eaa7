// Package startconfig is how `vkube start` reads its configuration: the files, then the flags
// that override them, then defaults and validation. `vkube drop-database` reads the same
// datastore flags the same way, so that it finds the database `vkube start` made.
package startconfig

import (
	"github.com/spf13/cobra"
)

// Flags are the flags of `vkube start` that make up the configuration; `vkube start` registers
// the rest (its own listeners and paths).
type Flags struct {
	Name, Namespace                 string
	ConfigFiles                     []string
	Distro, KubernetesVersion       string
	Backend, Endpoint, EndpointFile string
	TLSSANs                         []string
	ServiceCIDR                     string
	Isolate                         bool
	// HelperImage is sync.toHost.rewriteHostsImage's default: the chart passes the image it runs.
	HelperImage string
}

// AddDatastoreFlags adds -f/--config, --name, --host-namespace, --backend, --datastore-endpoint
// and --datastore-endpoint-file: which virtual cluster it is and which datastore it uses.
func (f *Flags) AddDatastoreFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.Name, "name", "", "virtual cluster name: a DNS-1123 label of at most 52 characters (default: the config's name, or \"vkube\")")
	fl.StringArrayVarP(&f.ConfigFiles, "config", "f", nil, "vkube.yaml or legacy vcluster values file; repeat to layer files")
	fl.StringVar(&f.Namespace, "host-namespace", "", "host namespace the virtual cluster lives in and syncs its pods to")
	fl.StringVar(&f.Backend, "backend", "", "datastore: sqlite, mysql, mariadb, postgres or etcd (default sqlite)")
	fl.StringVar(&f.Endpoint, "datastore-endpoint", "", "DSN (mysql://…, postgres://…) or etcd URLs (https://a:2379,https://b:2379); env VKUBE_DATASTORE_ENDPOINT")
	fl.StringVar(&f.EndpointFile, "datastore-endpoint-file", "", "file holding the datastore DSN or URLs")
	_ = cmd.RegisterFlagCompletionFunc("backend", cobra.FixedCompletions([]string{"sqlite", "mysql", "mariadb", "postgres", "etcd"}, cobra.ShellCompDirectiveNoFileComp))
}
