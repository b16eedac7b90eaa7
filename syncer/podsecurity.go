package syncer

import (
	"context"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// The host-admin keys that set the levels a synced pod must meet.
const (
	// keyHostPodSecurity is the level of the host namespace (baseline unless the host admin says
	// otherwise): what a tenant's pod may do on the node.
	keyHostPodSecurity = "policies.hostAccess.podSecurityStandard"
	// keyVirtualPodSecurity is the level the virtual namespaces are labelled with: a pod that got
	// past the virtual apiserver's admission (a namespace relabelled a moment before, a pod older
	// than the policy) is held to it here.
	keyVirtualPodSecurity = "policies.podSecurityStandard"
)

// The checks of PodSecurity admission itself, built once: they are the standard.
var podSecurityEvaluator = sync.OnceValues(func() (policy.Evaluator, error) {
	return policy.NewEvaluator(policy.DefaultChecks(), nil)
})

// podSecurityLevel is a level a synced pod must meet and the key that sets it.
type podSecurityLevel struct {
	level psapi.Level
	key   string
}

// podSecurityLevels are the levels of host and virtual (the values of keyHostPodSecurity and
// keyVirtualPodSecurity) that check anything: unset and privileged ones are left out. An unknown
// level is checked as restricted, as admission does.
func podSecurityLevels(host, virtual string) []podSecurityLevel {
	var out []podSecurityLevel
	for _, l := range []struct{ value, key string }{{host, keyHostPodSecurity}, {virtual, keyVirtualPodSecurity}} {
		if l.value == "" {
			continue
		}
		lvl, err := psapi.ParseLevel(l.value)
		if err != nil {
			lvl = psapi.LevelRestricted
		}
		if lvl != psapi.LevelPrivileged {
			out = append(out, podSecurityLevel{level: lvl, key: l.key})
		}
	}
	return out
}

// podSecurityViolation is why v must not reach the host, "" when it meets every level. The pod is
// checked at the stricter of the two levels; the message names the fields that fail it (see
// podSecurityPaths), PodSecurity admission's own explanation, and the keys whose level the pod
// fails: the host admin may allow it there, the tenant cannot.
func podSecurityViolation(host, virtual string, v *corev1.Pod) (string, error) {
	levels := podSecurityLevels(host, virtual)
	if len(levels) == 0 {
		return "", nil
	}
	ev, err := podSecurityEvaluator()
	if err != nil {
		return "", err
	}
	strictest := levels[0].level
	for _, l := range levels[1:] {
		if psapi.CompareLevels(l.level, strictest) > 0 {
			strictest = l.level
		}
	}
	evaluate := func(l psapi.Level) policy.AggregateCheckResult {
		return policy.AggregateCheckResults(ev.EvaluatePod(psapi.LevelVersion{Level: l, Version: psapi.LatestVersion()}, &v.ObjectMeta, &v.Spec))
	}
	result := evaluate(strictest)
	if result.Allowed {
		return "", nil
	}
	var keys []string
	for _, l := range levels {
		if l.level == strictest || !evaluate(l.level).Allowed {
			keys = append(keys, l.key)
		}
	}
	lv := psapi.LevelVersion{Level: strictest, Version: psapi.LatestVersion()}
	paths, err := podSecurityPaths(lv, &v.ObjectMeta, &v.Spec)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: violates PodSecurity %q: %s; only the host admin can allow it (%s)",
		strings.Join(paths, ", "), lv.String(), result.ForbiddenDetail(), strings.Join(keys, ", ")), nil
}

// refusedByPodSecurity reports whether a pod must not reach the host under the configured Pod
// Security levels. A refused pod is not synced (its host twin, if any, is removed: the level
// says what may run on the host) and gets a Warning event SyncError. The whole pod is checked on
// every reconcile, ephemeral containers and mutable annotations included, so neither a later
// update nor `kubectl debug` carries a violation past it.
func (r *pods) refusedByPodSecurity(ctx context.Context, v *corev1.Pod) bool {
	ev := podSecurityRefusal(r.cfg.HostPodSecurityStandard, r.cfg.PodSecurityStandard, v, metav1.Now())
	if ev == nil {
		return false
	}
	r.record(ctx, v, ev)
	return true
}

// record creates a refusal event about the virtual pod v.
func (r *pods) record(ctx context.Context, v *corev1.Pod, ev *corev1.Event) {
	if err := recordOnce(ctx, r.virtual.CoreV1().Events(v.Namespace), ev); err != nil && r.cfg.Logger != nil {
		r.cfg.Logger.Warn("recording a "+ev.Reason+" event", "pod", v.Namespace+"/"+v.Name, "error", err)
	}
}

// podSecurityRefusal is the Warning event SyncError for a pod that violates the levels, nil when
// it does not.
func podSecurityRefusal(host, virtual string, v *corev1.Pod, now metav1.Time) *corev1.Event {
	why, err := podSecurityViolation(host, virtual, v)
	if err != nil {
		// The checks are compiled in; failing them open would defeat the point.
		why = "spec: cannot evaluate the Pod Security Standard (" + keyHostPodSecurity + "): " + err.Error()
	}
	if why == "" {
		return nil
	}
	return hostAccessEvent(podRef(v), v.Namespace, reasonSyncError, refusedPrefix+why, now)
}

// podRef is the event reference of a virtual pod.
func podRef(v *corev1.Pod) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: v.Namespace, Name: v.Name, UID: v.UID, ResourceVersion: v.ResourceVersion}
}
