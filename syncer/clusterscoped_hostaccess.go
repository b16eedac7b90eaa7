package syncer

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// What the host admin's policies.hostAccess lets a tenant's cluster-scoped objects do on the
// host: a PriorityClass outranks every pod of the host below its value, and a PersistentVolume
// may name storage on a node.

const (
	keyMaxPriorityClassValue = "policies.hostAccess.maxPriorityClassValue"
	keyHostPathVolumes       = "policies.hostAccess.hostPathVolumes"
)

// clampPriority is the value a tenant's PriorityClass of value gets on the host under ceiling
// max, and whether it was lowered. The class's preemptionPolicy stays the tenant's: preemption
// only evicts pods of strictly lower priority, so under the default ceiling (0, the priority of
// a host pod without a class) a tenant's pods preempt no host pod the host admin did not itself
// put below 0; a higher ceiling is the host admin's choice to let them.
func clampPriority(value int64, max int32) (int64, bool) {
	if value > int64(max) {
		return int64(max), true
	}
	return value, false
}

// priorityValue is a PriorityClass's value, however its decoder typed the number.
func priorityValue(pc *unstructured.Unstructured) int64 {
	switch n := pc.Object["value"].(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

// nodeStorageSources are the fields of a PersistentVolume's spec that put its data on a host
// node's own filesystem or disks (hostPath, local): refused unless the host admin allows them.
func nodeStorageSources(spec map[string]any) []string {
	var out []string
	for _, f := range []string{"hostPath", "local"} {
		if v, ok := spec[f]; ok && v != nil {
			out = append(out, "spec."+f)
		}
	}
	return out
}

// namespacedSecretRefs are the fields of a PersistentVolume source that name a Secret by
// namespace (csi's nodePublishSecretRef and its siblings, the secretRef of iscsi, rbd, cephfs,
// flexVolume, scaleIO, storageos, azureFile's secretNamespace). On the host the volume's driver
// or the kubelet reads that Secret from the host namespace of that name: a tenant would point
// host storage drivers at Secrets vkube does not own, so such a volume is never synced.
func namespacedSecretRefs(obj map[string]any, path string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		p := path + "." + k
		switch v := obj[k].(type) {
		case map[string]any:
			if ns, _ := v["namespace"].(string); ns != "" && (k == "secretRef" || strings.HasSuffix(k, "SecretRef")) {
				out = append(out, p+".namespace")
				continue
			}
			out = append(out, namespacedSecretRefs(v, p)...)
		case string:
			if k == "secretNamespace" && v != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// secretRefRefusal names the fields that point a host driver at a Secret in another namespace.
func secretRefRefusal(fields []string) string {
	return fmt.Sprintf("%s%s: names a Secret by namespace, which the host's storage driver would read from the host namespace of that name", refusedPrefix, strings.Join(fields, ", "))
}

// clusterEvents records events about cluster-scoped virtual objects, in namespace default as
// client-go's recorder puts them.
type clusterEvents struct {
	events eventCreator
	log    *slog.Logger
}

func (e clusterEvents) record(ctx context.Context, kind, apiVersion string, v metav1.Object, reason, message string) {
	if e.events == nil {
		return
	}
	ev := hostAccessEvent(clusterScopedRef(kind, apiVersion, v), metav1.NamespaceDefault, reason, message, metav1.Now())
	if err := recordOnce(ctx, e.events, ev); err != nil && e.log != nil {
		e.log.Warn("recording a "+reason+" event", "kind", kind, "name", v.GetName(), "error", err)
	}
}

// clampedMessage names both values and the key that sets the ceiling.
func clampedMessage(value, kept int64) string {
	return fmt.Sprintf("value %d lowered to %d on the host: %s is %d", value, kept, keyMaxPriorityClassValue, kept)
}

// hostPathRefusal names the refused fields and the key that would allow them.
func hostPathRefusal(fields []string) string {
	return fmt.Sprintf("%s%s: storage on a host node's own filesystem or disks; only the host admin can allow it (%s)",
		refusedPrefix, strings.Join(fields, ", "), keyHostPathVolumes)
}
