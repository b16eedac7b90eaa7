// Package createcmd is `vkube create`.
package createcmd

import (
	"io"
	"time"

	"github.com/spf13/cobra"

	"vkube.io/vkube/cli/connect"
	"vkube.io/vkube/cli/hostflags"
	"vkube.io/vkube/cli/lifecycle"
	"vkube.io/vkube/config"
)

// NewCommand builds `vkube create`.
func NewCommand(out, errOut io.Writer) *cobra.Command {
	var host *hostflags.Flags
	o := lifecycle.CreateOptions{}
	var connectAfter, background bool
	var localPort int
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a virtual cluster in a namespace of the host cluster and connect to it",
		Long: `Create installs vkube's Helm chart (built in; no helm binary needed) into namespace
vkube-NAME (or -n), waits until the virtual cluster answers, then connects: a port-forward to
its API and a kubeconfig context switched to, kept in the foreground until ctrl+c, which
switches back (--background keeps a background proxy instead; --connect=false skips it).

Values files may be vkube.yaml or the legacy vcluster chart values; later files and --set
override earlier ones. With --upgrade an existing virtual cluster keeps its previous values,
and the new ones are layered on top.`,
		Example: `  # a virtual cluster on the embedded default, connected in the foreground
  vkube create my-vcluster

  # change it later: enable ingress sync, keep everything else
  vkube create my-vcluster --upgrade -f values.yaml

  # isolated, exposed through a LoadBalancer, not connected
  vkube create team-a -n team-a --isolate --expose --connect=false

  # another distro and Kubernetes version
  vkube create ha-vcluster --connect=false --distro k8s --kubernetes-version v1.35.4 -f ha.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name, o.Namespace = args[0], host.Namespace(args[0])
			if err := lifecycle.Create(cmd.Context(), host, o, errOut); err != nil {
				return err
			}
			if !connectAfter {
				return nil
			}
			return connect.Run(cmd.Context(), host, connect.Options{Name: o.Name, Namespace: o.Namespace, Background: background, LocalPort: localPort}, out, errOut)
		},
	}
	host = hostflags.Add(cmd)
	f := cmd.Flags()
	f.StringArrayVarP(&o.ValuesFiles, "values", "f", nil, "values file (vkube.yaml or legacy vcluster values); repeatable")
	f.StringArrayVar(&o.Set, "set", nil, "set a value (key=value, as helm --set); repeatable")
	f.StringVar(&o.Distro, "distro", "", "control-plane distro: k8s, eks, k3s or k0s (default k8s)")
	f.StringVar(&o.KubernetesVersion, "kubernetes-version", "", "Kubernetes version of the control plane, e.g. "+config.DefaultKubernetesVersion)
	f.BoolVar(&o.Expose, "expose", false, "expose the API through a LoadBalancer Service")
	f.BoolVar(&o.Isolate, "isolate", false, "isolation: Pod Security Standard, ResourceQuota, LimitRange and NetworkPolicies")
	f.BoolVar(&o.Upgrade, "upgrade", false, "change an existing virtual cluster instead of refusing")
	f.BoolVar(&connectAfter, "connect", true, "connect once the virtual cluster is ready")
	f.BoolVar(&background, "background", false, "connect through a background proxy and return")
	f.IntVar(&localPort, "local-port", 0, "local port of the connection (default: a free port)")
	f.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "how long to wait for the virtual cluster to be ready")
	_ = cmd.RegisterFlagCompletionFunc("distro", cobra.FixedCompletions(config.DistroNames, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
