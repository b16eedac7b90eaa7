package syncer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// The checks of PodSecurity admission itself, built once: the syncer refuses what the virtual
// apiserver would, for a pod that got past it (a namespace relabelled a moment before, a pod
// older than the policy).
var podSecurityEvaluator = sync.OnceValues(func() (policy.Evaluator, error) {
	return policy.NewEvaluator(policy.DefaultChecks(), nil)
})

// podSecurityViolation is why v violates the Pod Security Standard level, "" when it does not
// (or no level is set). An unknown level is checked as restricted, as admission does.
func podSecurityViolation(level string, v *corev1.Pod) (string, error) {
	if level == "" {
		return "", nil
	}
	ev, err := podSecurityEvaluator()
	if err != nil {
		return "", err
	}
	lvl, _ := psapi.ParseLevel(level)
	lv := psapi.LevelVersion{Level: lvl, Version: psapi.LatestVersion()}
	result := policy.AggregateCheckResults(ev.EvaluatePod(lv, &v.ObjectMeta, &v.Spec))
	if result.Allowed {
		return "", nil
	}
	return fmt.Sprintf("violates PodSecurity %q: %s", lv.String(), result.ForbiddenDetail()), nil
}

// refusedByPodSecurity reports whether a pod must not reach the host under the configured Pod
// Security Standard. A refused pod is not synced (its host twin, if any, is removed: the level
// says what may run on the host) and gets a Warning event PodSecurity.
func (r *pods) refusedByPodSecurity(ctx context.Context, v *corev1.Pod) bool {
	ev := podSecurityRefusal(r.cfg.PodSecurityStandard, v, metav1.Now())
	if ev == nil {
		return false
	}
	if err := recordOnce(ctx, r.virtual.CoreV1().Events(v.Namespace), ev); err != nil && r.cfg.Logger != nil {
		r.cfg.Logger.Warn("recording a PodSecurity event", "pod", v.Namespace+"/"+v.Name, "error", err)
	}
	return true
}

// podSecurityRefusal is the Warning event PodSecurity for a pod that violates level, nil when
// it does not. Its name is derived from the pod's UID and the message, so the reconciles that
// follow (resyncs, host deletions) record it once instead of piling up copies.
func podSecurityRefusal(level string, v *corev1.Pod, now metav1.Time) *corev1.Event {
	why, err := podSecurityViolation(level, v)
	if err != nil {
		// The checks are compiled in; failing them open would defeat the point.
		why = "cannot evaluate the Pod Security Standard: " + err.Error()
	}
	if why == "" {
		return nil
	}
	msg := "not synced to the host: " + why
	sum := sha256.Sum256([]byte(string(v.UID) + "\x00" + msg))
	name := v.Name
	if len(name) > 200 {
		name = name[:200]
	}
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: name + ".podsecurity-" + hex.EncodeToString(sum[:5]), Namespace: v.Namespace},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: v.Namespace, Name: v.Name,
			UID: v.UID, ResourceVersion: v.ResourceVersion},
		Reason: "PodSecurity", Message: msg, Type: corev1.EventTypeWarning,
		Source:         corev1.EventSource{Component: "vkube-syncer"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
}

type eventCreator interface {
	Create(ctx context.Context, e *corev1.Event, opts metav1.CreateOptions) (*corev1.Event, error)
}

// recordOnce creates ev; one of the same name already recorded is the same refusal.
func recordOnce(ctx context.Context, events eventCreator, ev *corev1.Event) error {
	_, err := events.Create(ctx, ev, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
