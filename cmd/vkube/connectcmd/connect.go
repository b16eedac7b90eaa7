// Package connectcmd is `vkube connect`: a kubeconfig for a virtual cluster, merged into the
// user's kubeconfig, printed, or handed to one command.
package connectcmd

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"vkube.io/vkube/cli/connect"
	"vkube.io/vkube/cli/hostflags"
)

// NewCommand builds `vkube connect`.
func NewCommand(out, errOut io.Writer) *cobra.Command {
	o := connect.Options{}
	var host *hostflags.Flags
	cmd := &cobra.Command{
		Use:   "connect NAME [-- COMMAND [ARGS...]]",
		Short: "Connect to a virtual cluster: switch kubectl to it, print its kubeconfig, or run a command in it",
		Long: `Connect to virtual cluster NAME, which lives in host namespace -n NS (default vkube-NAME).

How the virtual cluster's API is reached:
  --server URL        used as given (an Ingress, a NodePort, a DNS name); no port-forward
  a load balancer     when Service NAME is of type LoadBalancer and has an address
                      (vkube create --expose): https://ADDR:443, the certificate verified as NAME
  a port-forward      otherwise: 127.0.0.1:--local-port (default a free port) to port 8443 of a
                      ready pod of the virtual cluster; when that pod is replaced, the same local
                      port reconnects to the next ready pod

What is done with the kubeconfig:
  (default)           merged into your kubeconfig (--kubeconfig, else the first file of
                      $KUBECONFIG, else ~/.kube/config) as cluster, user and context
                      vkube_NAME_NS_HOSTCONTEXT (--kube-config-context-name to choose), and made
                      the current context. With a port-forward connect stays in the foreground:
                      ctrl+c (or SIGTERM) stops it, switches back to the previous context and
                      removes the virtual cluster's entries, whose port is gone. With --server or
                      a load balancer it returns at once and the context stays.
  --background        the port-forward runs in a detached process instead and connect returns
                      once it listens; its log and pid are in
                      ${XDG_CACHE_HOME:-~/.cache}/vkube/connect/NS-NAME.{log,pid}. A later
                      connect --background replaces it; vkube delete stops it.
  --print             the kubeconfig goes to stdout and your kubeconfig is left alone. With a
                      port-forward and no --background it is printed all the same, and connect
                      keeps forwarding in the foreground until ctrl+c, so the printed kubeconfig
                      works (from another terminal) for as long as connect runs.
  -- COMMAND ARGS...  COMMAND runs with KUBECONFIG set to a temporary kubeconfig (mode 0600,
                      deleted afterwards) while the port-forward runs; connect exits with
                      COMMAND's exit status.

--service-account SA creates ServiceAccount SA in kube-system of the virtual cluster when
missing, with --cluster-role ROLE binds it to ClusterRole ROLE (ClusterRoleBinding vkube-SA-ROLE),
and authenticates the kubeconfig with a token of it (valid for up to a year; the virtual
apiserver may cap that) instead of the admin client certificate.

--insecure drops the CA and skips TLS verification: needed when --server names a host that is not
in the virtual cluster's certificate (or give that host with --tls-san when creating the cluster).`,
		Example: `  # switch kubectl to the virtual cluster; ctrl+c disconnects and switches back
  vkube connect my-vcluster
  kubectl get namespaces

  # a virtual cluster in another host namespace, with a port-forward that outlives this shell
  vkube connect cl2 -n vcl1 --background --local-port 11443

  # run one command against the virtual cluster, then disconnect
  vkube connect my-vcluster -- kubectl apply -f manifests/
  vkube -n vcl1 connect cl2 -- kubectl get pods -A

  # a kubeconfig through an Ingress, authenticating as a cluster-admin ServiceAccount
  vkube connect tenant-1 -n tenant-1 --server=https://tenant-1-vcluster.example.com \
    --service-account admin --cluster-role cluster-admin --insecure --print > tenant-1.kubeconfig

  # print the kubeconfig and keep the port-forward open for it until ctrl+c
  vkube connect my-vcluster --print > /tmp/my-vcluster.kubeconfig`,
		Args: func(cmd *cobra.Command, args []string) error {
			_, _, err := splitArgs(cmd, args)
			return err
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name, command, err := splitArgs(cmd, args)
			if err != nil {
				return err
			}
			o.Name, o.Command = name, command
			o.Stdin = cmd.InOrStdin()
			return connect.Run(cmd.Context(), host, o, out, errOut)
		},
	}
	host = hostflags.Add(cmd)
	cmd.ValidArgsFunction = hostflags.CompleteNames(host)
	fl := cmd.Flags()
	fl.BoolVar(&o.Print, "print", false, "write the kubeconfig to stdout instead of changing your kubeconfig (with a foreground port-forward, keep forwarding until ctrl+c)")
	fl.StringVar(&o.Server, "server", "", "API server URL to put into the kubeconfig, e.g. https://vc.example.com (no port-forward)")
	fl.StringVar(&o.ServiceAccount, "service-account", "", "authenticate with a token of this kube-system ServiceAccount of the virtual cluster, created if missing")
	fl.StringVar(&o.ClusterRole, "cluster-role", "", "with --service-account: bind the ServiceAccount to this ClusterRole, e.g. cluster-admin")
	fl.BoolVar(&o.Insecure, "insecure", false, "skip TLS verification (for a --server host that is not in the certificate)")
	fl.IntVar(&o.LocalPort, "local-port", 0, "local port of the port-forward (default a free port)")
	fl.StringVar(&o.ContextName, "kube-config-context-name", "", "name of the kubeconfig context, cluster and user (default vkube_NAME_NS_HOSTCONTEXT)")
	fl.BoolVar(&o.Background, "background", false, "run the port-forward in a detached background process and return")
	fl.BoolVar(&o.ProxyOnly, connect.InternalProxyFlag, false, "run only the port-forward (the --background process)")
	_ = fl.MarkHidden(connect.InternalProxyFlag)
	_ = cmd.RegisterFlagCompletionFunc("cluster-role", cobra.FixedCompletions(
		[]string{"cluster-admin", "admin", "edit", "view"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// splitArgs takes NAME and, after --, the command.
func splitArgs(cmd *cobra.Command, args []string) (string, []string, error) {
	names, command := args, []string(nil)
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		names, command = args[:dash], args[dash:]
		if len(command) == 0 {
			return "", nil, fmt.Errorf("a command must follow --: vkube connect NAME -- COMMAND [ARGS...]")
		}
	}
	if len(names) != 1 {
		return "", nil, fmt.Errorf("want one virtual cluster name, got %d: vkube connect NAME [-- COMMAND [ARGS...]]", len(names))
	}
	return names[0], command, nil
}
