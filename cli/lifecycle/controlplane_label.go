package lifecycle

import (
	"context"
	"fmt"
	"io"
	"regexp"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"vkube.io/vkube/names"
)

// labelRunningControlPlane gives the control-plane pods of an older chart the
// vkube.io/control-plane label before an upgrade: the new chart's Services select on it, and a
// pod without it would drop out of the API, DNS and headless Services (etcd peers find each other
// there) until the rolling update reached it. Only the StatefulSet's own pods (NAME-<ordinal>,
// not a synced twin) are labelled.
func labelRunningControlPlane(ctx context.Context, c kubernetes.Interface, ns, name string, progress io.Writer) error {
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: instanceSelector(name)})
	if err != nil {
		return fmt.Errorf("listing the control plane of %s: %w", name, err)
	}
	ordinal := regexp.MustCompile("^" + regexp.QuoteMeta(name) + "-[0-9]+$")
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, names.LabelControlPlane, name)
	for _, p := range pods.Items {
		if !ordinal.MatchString(p.Name) || p.Labels[names.LabelControlPlane] == name {
			continue
		}
		if _, err := c.CoreV1().Pods(ns).Patch(ctx, p.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("labelling control-plane pod %s with %s before the upgrade: %w", p.Name, names.LabelControlPlane, err)
		}
		fmt.Fprintf(progress, "labelled control-plane pod %s with %s=%s\n", p.Name, names.LabelControlPlane, name)
	}
	return nil
}
