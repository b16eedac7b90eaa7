// Package connect reaches a virtual cluster from outside its host namespace: it builds a
// kubeconfig for the virtual kube-apiserver (through a given server URL, the API Service's load
// balancer, or a port-forward to a ready pod) and then merges it into the user's kubeconfig,
// prints it, or runs one command with it.
package connect

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"vkube.io/vkube/cli/hostflags"
)

// APIPort is the container port the virtual kube-apiserver serves HTTPS on.
const APIPort = 8443

// DefaultReadyTimeout is how long connect waits for a ready pod of the virtual cluster.
const DefaultReadyTimeout = 2 * time.Minute

// Options say how to connect to one virtual cluster.
type Options struct {
	// Name is the virtual cluster (required).
	Name string
	// Namespace is its host namespace; empty means the host flags' -n, else vkube-NAME.
	Namespace string
	// Print writes the kubeconfig to out instead of merging it into the user's kubeconfig.
	Print bool
	// Server is the API URL to put into the kubeconfig; it skips the load balancer and port-forward.
	Server string
	// ServiceAccount makes the kubeconfig authenticate with a token of this kube-system
	// ServiceAccount of the virtual cluster (created when missing) instead of the admin certificate.
	ServiceAccount string
	// ClusterRole, with ServiceAccount, binds the ServiceAccount to this ClusterRole.
	ClusterRole string
	// Insecure drops the CA and skips TLS verification (for a Server whose host is no SAN).
	Insecure bool
	// LocalPort is the port-forward's local port; 0 picks a free one.
	LocalPort int
	// ContextName names the kubeconfig context, cluster and user (default ContextName(...)).
	ContextName string
	// Background leaves the port-forward to a detached process and returns once it listens.
	Background bool
	// Command, when set, runs with KUBECONFIG pointing at a temporary kubeconfig of the virtual
	// cluster; Run returns *ExitError when it exits non-zero.
	Command []string
	// Stdin is the Command's standard input (default os.Stdin).
	Stdin io.Reader
	// ReadyTimeout bounds the wait for a ready pod (default DefaultReadyTimeout).
	ReadyTimeout time.Duration
	// ProxyOnly runs just the port-forward until interrupted: the --background child.
	ProxyOnly bool
}

// ExitError is returned by Run when Options.Command exits non-zero; the caller exits with Code.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("command exited with status %d", e.Code) }

// ContextName is the kubeconfig context connect creates for virtual cluster name in host
// namespace namespace, reached from host context hostContext.
func ContextName(name, namespace, hostContext string) string {
	s := "vkube_" + name + "_" + namespace
	if hostContext != "" {
		s += "_" + hostContext
	}
	return s
}

// session is one connect run with everything it resolved.
type session struct {
	o           Options
	namespace   string
	hostConfig  *rest.Config
	host        kubernetes.Interface
	hostContext string
	// access is the user's kubeconfig the context is merged into.
	access clientcmd.ConfigAccess
	// kubeconfigFlag is the host's --kubeconfig, handed to the background proxy.
	kubeconfigFlag string
	out, errOut    io.Writer
}

// Run connects to virtual cluster o.Name on the host cluster that host reaches. Without Print
// or Command it switches the user's kubeconfig to the virtual cluster; when that needs a
// foreground port-forward it blocks until ctx ends or SIGINT/SIGTERM, then switches back.
func Run(ctx context.Context, host *hostflags.Flags, o Options, out, errOut io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	cfg, client, err := host.Client()
	if err != nil {
		return err
	}
	hostContext, err := host.CurrentContext()
	if err != nil {
		return err
	}
	ns := o.Namespace
	if ns == "" {
		ns = host.Namespace(o.Name)
	}
	kcFlag := *host.Getter.KubeConfig
	if kcFlag != "" {
		if abs, err := filepath.Abs(kcFlag); err == nil {
			kcFlag = abs
		}
	}
	s := &session{
		o: o, namespace: ns, hostConfig: cfg, host: client, hostContext: hostContext,
		access: host.Getter.ToRawKubeConfigLoader().ConfigAccess(), kubeconfigFlag: kcFlag,
		out: out, errOut: errOut,
	}
	return s.run(ctx)
}

func (o *Options) validate() error {
	if o.Name == "" {
		return fmt.Errorf("the virtual cluster's name is required: vkube connect NAME")
	}
	if errs := validation.IsDNS1123Label(o.Name); len(errs) > 0 {
		return fmt.Errorf("virtual cluster name %q: %s", o.Name, strings.Join(errs, "; "))
	}
	if o.ClusterRole != "" && o.ServiceAccount == "" {
		return fmt.Errorf("--cluster-role needs --service-account: the role is bound to that ServiceAccount")
	}
	if o.ServiceAccount != "" {
		if errs := validation.IsDNS1123Subdomain(o.ServiceAccount); len(errs) > 0 {
			return fmt.Errorf("--service-account %q: %s", o.ServiceAccount, strings.Join(errs, "; "))
		}
	}
	if o.LocalPort < 0 || o.LocalPort > 65535 {
		return fmt.Errorf("--local-port %d: want 0 (a free port) or 1-65535", o.LocalPort)
	}
	if len(o.Command) > 0 && o.Print {
		return fmt.Errorf("--print and a command exclude each other: the command gets the kubeconfig through KUBECONFIG")
	}
	if len(o.Command) > 0 && o.Background {
		return fmt.Errorf("--background and a command exclude each other: the port-forward lives as long as the command")
	}
	if o.ProxyOnly && o.LocalPort == 0 {
		return fmt.Errorf("--internal-proxy-only needs --local-port")
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	return nil
}

func (s *session) contextName() string {
	if s.o.ContextName != "" {
		return s.o.ContextName
	}
	return ContextName(s.o.Name, s.namespace, s.hostContext)
}

func (s *session) run(ctx context.Context) error {
	if s.o.ProxyOnly {
		return s.proxyOnly(ctx)
	}
	cred, err := s.adminCredentials(ctx)
	if err != nil {
		return err
	}
	ep, err := s.endpoint(ctx)
	if err != nil {
		return err
	}
	var fwd *forwarder
	if ep.portForward {
		if s.o.Background {
			port, err := s.startBackground(ctx)
			if err != nil {
				return err
			}
			ep.Server = localServer(port)
		} else {
			fwd, err = s.startForwarder(ctx, s.o.LocalPort)
			if err != nil {
				return err
			}
			defer fwd.Stop()
			ep.Server = localServer(fwd.Port())
		}
	}
	name := s.contextName()
	kc := buildKubeconfig(name, ep, cred)
	if s.o.ServiceAccount != "" {
		token, err := serviceAccountToken(ctx, kc, s.o.ServiceAccount, s.o.ClusterRole)
		if err != nil {
			return err
		}
		kc = buildKubeconfig(name, ep, credentials{CA: cred.CA, Token: token})
	}

	switch {
	case len(s.o.Command) > 0:
		return s.runCommand(ctx, kc, fwd)
	case s.o.Print:
		data, err := clientcmd.Write(*kc)
		if err != nil {
			return err
		}
		if _, err := s.out.Write(data); err != nil {
			return err
		}
		if fwd == nil {
			return nil
		}
		fmt.Fprintf(s.errOut, "Forwarding %s to virtual cluster %s for the kubeconfig above. Use ctrl+c to stop.\n", ep.Server, s.o.Name)
		return s.wait(ctx, fwd)
	}

	prev, err := mergeAndSwitch(s.access, kc, name, s.hostContext)
	if err != nil {
		return fmt.Errorf("update kubeconfig: %w", err)
	}
	switch {
	case fwd != nil:
		fmt.Fprintf(s.errOut, "Switched to context %q (virtual cluster %s through %s). Use ctrl+c to disconnect.\n", name, s.o.Name, ep.Server)
	case ep.portForward:
		logPath, pidPath, _ := backgroundPaths(s.namespace, s.o.Name)
		fmt.Fprintf(s.errOut, "Switched to context %q (virtual cluster %s through a background port-forward on %s; log %s, stop it with kill $(cat %s)).\n",
			name, s.o.Name, ep.Server, logPath, pidPath)
		return nil
	default:
		fmt.Fprintf(s.errOut, "Switched to context %q (virtual cluster %s at %s). Switch back with: kubectl config use-context %s\n", name, s.o.Name, ep.Server, prev)
		return nil
	}
	waitErr := s.wait(ctx, fwd)
	// The context names a port that dies with this process: switch back and drop it.
	if err := switchBack(s.access, name, prev, ep.Server); err != nil {
		return fmt.Errorf("switch kubeconfig back to context %q: %w", prev, err)
	}
	fmt.Fprintf(s.errOut, "Disconnected from virtual cluster %s; switched back to context %q.\n", s.o.Name, prev)
	return waitErr
}

// wait blocks until ctx ends, SIGINT or SIGTERM (a clean disconnect, nil), or the port-forward
// fails for good.
func (s *session) wait(ctx context.Context, fwd *forwarder) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
		return nil
	case err := <-fwd.Err():
		return err
	}
}

// proxyOnly is the --background child: the port-forward alone, until SIGTERM.
func (s *session) proxyOnly(ctx context.Context) error {
	_, pidPath, _ := backgroundPaths(s.namespace, s.o.Name)
	defer removePidFile(pidPath, os.Getpid())
	fwd, err := s.startForwarder(ctx, s.o.LocalPort)
	if err != nil {
		return err
	}
	defer fwd.Stop()
	fmt.Fprintf(s.errOut, "%s forwarding %s to virtual cluster %s in namespace %s\n",
		time.Now().Format(time.RFC3339), localServer(fwd.Port()), s.o.Name, s.namespace)
	return s.wait(ctx, fwd)
}
