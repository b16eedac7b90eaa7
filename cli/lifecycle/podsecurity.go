package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/config"
)

// The host namespace enforces the Pod Security level the syncer holds synced pods to, so that the
// host's own admission backs the syncer up (and refuses whatever else a tenant might get created
// there). vkube's own pods in the namespace, the control plane and the drop-database pod made
// from its template, meet restricted with the chart's security contexts.
const (
	labelEnforce        = "pod-security.kubernetes.io/enforce"
	labelEnforceVersion = "pod-security.kubernetes.io/enforce-version"
	// annotationEnforcedBy records the level vkube set, so that a later create may lower its own
	// level (the host admin chose a laxer one) but never one someone else set.
	annotationEnforcedBy = "vkube.io/pod-security-enforce"
)

// hostNamespaceLevel is the level of cfg (with defaults, as the pod will run it).
func hostNamespaceLevel(cfg *config.Config) (string, error) {
	c, err := copyConfig(cfg)
	if err != nil {
		return "", err
	}
	c.SetDefaults()
	return c.Policies.HostNamespacePodSecurity(), nil
}

// namespacePodSecurity is the labels and annotations a host namespace of labels and annotations
// must get to enforce level (nil when it already does, or must be left as it is), and a note for
// the user when the namespace keeps a level other than level. A stricter level someone else set
// stays: it protects the host more, and only the host's own admission will refuse synced pods it
// forbids.
func namespacePodSecurity(labels, annotations map[string]string, level string) (set map[string]map[string]string, note string) {
	if level == "" {
		return nil, ""
	}
	have := labels[labelEnforce]
	want := map[string]map[string]string{
		"labels":      {labelEnforce: level, labelEnforceVersion: "latest"},
		"annotations": {annotationEnforcedBy: level},
	}
	switch {
	case have == "":
		return want, ""
	case have == level:
		return nil, ""
	case annotations[annotationEnforcedBy] == have:
		return want, "" // vkube's own earlier level
	case levelRank(have) > levelRank(level):
		return nil, fmt.Sprintf("it keeps %s=%s, stricter than the virtual cluster's %s, set by someone else: the host refuses synced pods that %s forbids", labelEnforce, have, level, have)
	}
	return want, ""
}

func levelRank(level string) int {
	switch level {
	case "privileged":
		return 0
	case "baseline":
		return 1
	}
	return 2 // restricted, and what Pod Security admission takes an unknown value for
}

// enforcePodSecurity labels namespace obj for level. Without the right to, it says so and goes
// on: the syncer still holds synced pods to the level.
func enforcePodSecurity(ctx context.Context, c kubernetes.Interface, obj *corev1.Namespace, level string, progress io.Writer) error {
	set, note := namespacePodSecurity(obj.Labels, obj.Annotations, level)
	if note != "" {
		fmt.Fprintf(progress, "note: namespace %s: %s\n", obj.Name, note)
	}
	if set == nil {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": set})
	if err != nil {
		return err
	}
	_, err = c.CoreV1().Namespaces().Patch(ctx, obj.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "vkube"})
	if apierrors.IsForbidden(err) {
		cannotLabel(progress, obj.Name, level, err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("labelling namespace %s with %s=%s: %w", obj.Name, labelEnforce, level, err)
	}
	fmt.Fprintf(progress, "namespace %s enforces Pod Security %s\n", obj.Name, level)
	return nil
}

func cannotLabel(progress io.Writer, ns, level string, err error) {
	fmt.Fprintf(progress, "warning: cannot label namespace %s with %s=%s (%v): the syncer still refuses synced pods that %s forbids; ask a host admin to label the namespace\n",
		ns, labelEnforce, level, apierrors.ReasonForError(err), level)
}
