package syncer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Event reasons of what the host admin's policies.hostAccess keeps a tenant's object from doing
// on the host (tenants read them on their virtual objects; e2e tests assert on them).
const (
	// reasonSyncError: a field or object is refused; the message starts with refusedPrefix,
	// names the field path and the host-admin key that would allow it.
	reasonSyncError = "SyncError"
	// reasonClamped: a value is lowered to the host admin's ceiling; the message names both.
	reasonClamped = "Clamped"
	refusedPrefix = "not synced to the host: "
)

// hostAccessEvent is a Warning event about obj, recorded in namespace (cluster-scoped objects'
// events go to default, as client-go's recorder puts them). Its name is derived from the
// object's UID, the reason and the message, so the reconciles that follow (resyncs, host
// deletions) record one event per refusal instead of piling up copies, and a changed refusal
// gets an event of its own.
func hostAccessEvent(obj corev1.ObjectReference, namespace, reason, message string, now metav1.Time) *corev1.Event {
	sum := sha256.Sum256([]byte(string(obj.UID) + "\x00" + reason + "\x00" + message))
	name := obj.Name
	if len(name) > 200 {
		name = name[:200]
	}
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name + "." + strings.ToLower(reason) + "-" + hex.EncodeToString(sum[:5]), Namespace: namespace},
		InvolvedObject: obj,
		Reason:         reason, Message: message, Type: corev1.EventTypeWarning,
		Source:         corev1.EventSource{Component: "vkube-syncer"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
}

// clusterScopedRef is the event reference of a cluster-scoped virtual object.
func clusterScopedRef(kind, apiVersion string, m metav1.Object) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: kind, APIVersion: apiVersion, Name: m.GetName(), UID: m.GetUID(), ResourceVersion: m.GetResourceVersion()}
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
