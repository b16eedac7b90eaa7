package isolation

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vkube.io/vkube/config"
)

// resourceQuota is the seeds' <name>-quota: what the whole virtual cluster may use of the host.
func resourceQuota(namespace, vcluster string, q config.ResourceQuota) (*corev1.ResourceQuota, error) {
	hard, err := resourceList(q.Quota, "policies.resourceQuota.quota")
	if err != nil {
		return nil, err
	}
	return &corev1.ResourceQuota{
		ObjectMeta: meta(namespace, vcluster, QuotaName(vcluster)),
		Spec:       corev1.ResourceQuotaSpec{Hard: hard},
	}, nil
}

// limitRange is the seeds' <name>-limit-range: the requests and limits of a container that sets
// none, so that pods still fit the quota (which requires them once it limits cpu and memory).
func limitRange(namespace, vcluster string, l config.LimitRange) (*corev1.LimitRange, error) {
	def, err := resourceList(l.Default, "policies.limitRange.default")
	if err != nil {
		return nil, err
	}
	req, err := resourceList(l.DefaultRequest, "policies.limitRange.defaultRequest")
	if err != nil {
		return nil, err
	}
	// The apiserver defaults a missing request to the limit; doing it here keeps the stored
	// object equal to this one, so a restart does not rewrite it.
	for k, v := range def {
		if _, ok := req[k]; !ok {
			req[k] = v.DeepCopy()
		}
	}
	return &corev1.LimitRange{
		ObjectMeta: meta(namespace, vcluster, LimitRangeName(vcluster)),
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Default: def, DefaultRequest: req,
		}}},
	}, nil
}

func resourceList(m map[string]string, path string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q, err := resource.ParseQuantity(m[k])
		if err != nil {
			return nil, fmt.Errorf("%s[%s]: %q is not a quantity such as 10, 500m or 20Gi", path, k, m[k])
		}
		out[corev1.ResourceName(k)] = q
	}
	return out, nil
}

func meta(namespace, vcluster, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{LabelCluster: vcluster}}
}
