package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"

	"vkube.io/vkube/cli/hostflags"
)

// DeleteOptions are `vkube delete`'s inputs.
type DeleteOptions struct {
	Name      string
	Namespace string
	// KeepPVC keeps the control plane's data volumes and the PVCs synced from the virtual cluster.
	KeepPVC bool
	// DeleteNamespace deletes the host namespace too (always done for one `vkube create` made).
	DeleteNamespace bool
	Timeout         time.Duration

	// DropDatabase drops the database vkube made for the virtual cluster on a shared database
	// server (its DSN named none) before anything else goes.
	DropDatabase bool
}

// ownedKinds are the namespaced kinds vkube or its chart create on the host. Everything of a
// virtual cluster carries vkube.io/cluster (the chart, the PKI, the kubeconfig) or
// vkube.io/managed-by (what the syncer made).
var ownedKinds = []schema.GroupVersionResource{
	{Version: "v1", Resource: "pods"},
	{Version: "v1", Resource: "services"},
	{Version: "v1", Resource: "endpoints"},
	{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"},
	{Version: "v1", Resource: "configmaps"},
	{Version: "v1", Resource: "secrets"},
	{Version: "v1", Resource: "serviceaccounts"},
	{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
	{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"},
	{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"},
	{Version: "v1", Resource: "resourcequotas"},
	{Version: "v1", Resource: "limitranges"},
	{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"},
}

var pvcs = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}

// Delete removes a virtual cluster and everything it made on the host.
func Delete(ctx context.Context, host *hostflags.Flags, o DeleteOptions, progress io.Writer) error {
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	cfg, client, err := host.Client()
	if err != nil {
		return err
	}
	// Endpoints are deprecated for reading, still what a selectorless Service's twin may hold.
	cfg.WarningHandler = rest.NoWarnings{}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	hcfg, err := helmFor(host, o.Namespace)
	if err != nil {
		return err
	}
	_, release, err := releaseValues(hcfg, o.Name)
	if err != nil {
		return err
	}
	if !release {
		found, err := anyOwned(ctx, dyn, o.Namespace, o.Name)
		if err != nil {
			return err
		}
		if !found && !createdNamespace(ctx, client, o.Namespace, o.Name) {
			return fmt.Errorf("virtual cluster %s not found in namespace %s (vkube list shows them)", o.Name, o.Namespace)
		}
	}
	if o.DropDatabase {
		if err := dropDatabase(ctx, client, o, progress); err != nil {
			return err
		}
	}
	if release {
		fmt.Fprintf(progress, "deleting virtual cluster %s in namespace %s\n", o.Name, o.Namespace)
		u := action.NewUninstall(hcfg)
		u.WaitStrategy, u.Timeout = kube.HookOnlyStrategy, o.Timeout
		if _, err := u.Run(o.Name); err != nil {
			return fmt.Errorf("uninstalling virtual cluster %s: %w", o.Name, err)
		}
	}
	// The control plane goes first, so that no syncer recreates what is deleted next.
	if err := waitGone(ctx, client, o.Namespace, instanceSelector(o.Name), o.Timeout, progress, "control plane"); err != nil {
		return err
	}
	kinds := ownedKinds
	if !o.KeepPVC {
		kinds = append(kinds, pvcs)
	}
	var errs []error
	for _, gvr := range kinds {
		for _, sel := range []string{labelCluster + "=" + o.Name, labelSynced + "=" + o.Name, instanceSelector(o.Name)} {
			err := dyn.Resource(gvr).Namespace(o.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
				errs = append(errs, fmt.Errorf("deleting %s: %w", gvr.Resource, err))
			}
		}
	}
	errs = append(errs, deleteClusterScopedTwins(ctx, dyn, o, progress))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := waitGone(ctx, client, o.Namespace, labelSynced+"="+o.Name, o.Timeout, progress, "synced"); err != nil {
		return err
	}
	if err := deleteNamespace(ctx, client, o, progress); err != nil {
		return err
	}
	fmt.Fprintf(progress, "deleted virtual cluster %s\n", o.Name)
	return nil
}

// anyOwned tells whether anything of the virtual cluster is left, e.g. after a half delete.
func anyOwned(ctx context.Context, dyn dynamic.Interface, ns, name string) (bool, error) {
	for _, gvr := range []schema.GroupVersionResource{ownedKinds[0], ownedKinds[1], ownedKinds[5]} {
		for _, sel := range []string{labelCluster + "=" + name, labelSynced + "=" + name} {
			l, err := dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: sel, Limit: 1})
			if apierrors.IsForbidden(err) {
				return false, fmt.Errorf("you cannot read namespace %s: %w", ns, err)
			}
			if err == nil && len(l.Items) > 0 {
				return true, nil
			}
		}
	}
	return false, nil
}

// createdNamespace tells whether ns is a namespace `vkube create NAME` made (perhaps all that
// is left of an interrupted create).
func createdNamespace(ctx context.Context, c kubernetes.Interface, ns, name string) bool {
	obj, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	return err == nil && obj.Annotations[annotationCreatedNamespace] == name
}

func deleteNamespace(ctx context.Context, c kubernetes.Interface, o DeleteOptions, progress io.Writer) error {
	ns, err := c.CoreV1().Namespaces().Get(ctx, o.Namespace, metav1.GetOptions{})
	if err != nil {
		if o.DeleteNamespace {
			return fmt.Errorf("namespace %s: %w", o.Namespace, err)
		}
		return nil
	}
	if !o.DeleteNamespace && ns.Annotations[annotationCreatedNamespace] != o.Name {
		return nil
	}
	if err := c.CoreV1().Namespaces().Delete(ctx, o.Namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting namespace %s: %w", o.Namespace, err)
	}
	fmt.Fprintf(progress, "deleted namespace %s\n", o.Namespace)
	return nil
}

// waitGone waits until no pod matches selector, reporting how many are left.
func waitGone(ctx context.Context, c kubernetes.Interface, ns, selector string, timeout time.Duration, progress io.Writer, what string) error {
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	last := -1
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err
		}
		if n := len(pods.Items); n != last && n > 0 {
			names := make([]string, 0, 3)
			for i := 0; i < n && i < 3; i++ {
				names = append(names, pods.Items[i].Name)
			}
			fmt.Fprintf(progress, "waiting for %d %s pod(s) to go: %s\n", n, what, strings.Join(names, ", "))
			last = n
		}
		return len(pods.Items) == 0, nil
	})
	if err != nil && wait.Interrupted(err) && ctx.Err() == nil {
		return fmt.Errorf("%s pods in %s still there after %s", what, ns, timeout)
	}
	return err
}
