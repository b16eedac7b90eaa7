package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var persistentVolumes = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumes"}

// clusterScopedKinds are the kinds the syncer copies to the host when asked
// (sync.toHost.priorityClasses, storageClasses, persistentVolumes): their twins live in no
// namespace and outlive the host namespace.
var clusterScopedKinds = []schema.GroupVersionResource{
	{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses"},
	{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"},
	persistentVolumes,
}

// deleteClusterScopedTwins deletes the cluster-scoped twins of virtual cluster o.Name in
// o.Namespace, selected by its name and its host namespace: a virtual cluster of the same name
// in another namespace keeps its own. Volumes stay with --keep-pvc, for the claims bound to
// them. A kind the user may not list is skipped with a note: syncing it needed cluster-wide
// rights a namespace's user seldom has, and nothing more can be done with these credentials.
func deleteClusterScopedTwins(ctx context.Context, dyn dynamic.Interface, o DeleteOptions, progress io.Writer) error {
	selector := labelSynced + "=" + o.Name + "," + labelHostNamespace + "=" + o.Namespace
	var hidden []string
	var errs []error
	for _, gvr := range clusterScopedKinds {
		if o.KeepPVC && gvr == persistentVolumes {
			continue
		}
		api := dyn.Resource(gvr)
		list, err := api.List(ctx, metav1.ListOptions{LabelSelector: selector})
		switch {
		case apierrors.IsForbidden(err):
			hidden = append(hidden, gvr.Resource)
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("listing the %s of %s: %w", gvr.Resource, o.Name, err))
			continue
		}
		for _, twin := range list.Items {
			uid := twin.GetUID()
			err := api.Delete(ctx, twin.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				errs = append(errs, fmt.Errorf("deleting %s %s: %w", gvr.Resource, twin.GetName(), err))
			}
		}
		if n := len(list.Items); n > 0 {
			fmt.Fprintf(progress, "deleted %d %s of %s\n", n, gvr.Resource, o.Name)
		}
	}
	if len(hidden) > 0 {
		fmt.Fprintf(progress, "you may not list %s: any that %s synced stay (label selector %s)\n", strings.Join(hidden, ", "), o.Name, selector)
	}
	return errors.Join(errs...)
}
