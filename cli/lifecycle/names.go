// Package lifecycle creates, lists, pauses, resumes and deletes virtual clusters on a host
// cluster: the chart through the Helm SDK, and what the running vkube made on the host.
package lifecycle

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"
	"vkube.io/vkube/names"
)

// MaxNameLength keeps the StatefulSet's controller-revision-hash label within 63 characters.
const MaxNameLength = 52

// Labels the chart puts on every pod and object of virtual cluster NAME.
const (
	labelName     = "app.kubernetes.io/name"
	labelInstance = "app.kubernetes.io/instance"
	labelCluster  = names.LabelCluster
	// labelSynced marks host objects the syncer made.
	labelSynced = names.LabelSynced
	// labelHostNamespace marks the syncer's cluster-scoped twins with the host namespace of their
	// virtual cluster.
	labelHostNamespace = names.LabelHostNamespace
	// annotationCreatedNamespace marks a namespace `vkube create` made, so delete removes it.
	annotationCreatedNamespace = "vkube.io/created-for"
	// annotationPausedReplicas remembers the replicas of a paused virtual cluster.
	annotationPausedReplicas = "vkube.io/paused-replicas"
)

// ValidateName checks NAME the way the host will, before anything is created.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("a virtual cluster NAME is required")
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("name %q is %d characters: use at most %d (the StatefulSet's revision label must fit 63)", name, len(name), MaxNameLength)
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("name %q: %s", name, errs[0])
	}
	return nil
}

// instanceSelector selects the chart's objects and control-plane pods of NAME. A tenant may give
// its pods these labels, so the syncer's twins (vkube.io/managed-by) are left out: otherwise
// delete and pause would wait for a tenant's pod as for the control plane. (Pods of charts before
// vkube.io/control-plane lack that label, so it cannot be used here yet.)
func instanceSelector(name string) string {
	return labelName + "=vkube," + labelInstance + "=" + name + ",!" + labelSynced
}
