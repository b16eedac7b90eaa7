package syncer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// syncErrors records the Warning SyncError events of what the syncer keeps from the host (a
// Service field, an endpoint address), on the virtual object, where the tenant reads them. The
// same refusal comes back on every reconcile (resyncs, the mapServices loop every few seconds):
// it is recorded once per object and message, under a name derived from both, and not sent again
// for a while.
type syncErrors struct {
	virtual kubernetes.Interface
	log     *slog.Logger

	mu   sync.Mutex
	sent map[string]time.Time
}

// syncErrorResend: after this long a refusal is sent again (an event expires after an hour in
// the API server; one already there is left as it is).
const syncErrorResend = 10 * time.Minute

func newSyncErrors(virtual kubernetes.Interface, log *slog.Logger) *syncErrors {
	return &syncErrors{virtual: virtual, log: log, sent: map[string]time.Time{}}
}

// record sends "not synced to the host: WHY" about obj. A nil syncErrors records nothing (unit
// tests of the translations).
func (s *syncErrors) record(ctx context.Context, obj corev1.ObjectReference, why string) {
	if s == nil {
		return
	}
	ev := syncErrorEvent(obj, "not synced to the host: "+why, metav1.Now())
	now := time.Now()
	s.mu.Lock()
	if t, ok := s.sent[ev.Name]; ok && now.Sub(t) < syncErrorResend {
		s.mu.Unlock()
		return
	}
	if len(s.sent) > 10000 {
		s.sent = map[string]time.Time{}
	}
	s.sent[ev.Name] = now
	s.mu.Unlock()
	if err := recordOnce(ctx, s.virtual.CoreV1().Events(obj.Namespace), ev); err != nil {
		s.mu.Lock()
		delete(s.sent, ev.Name)
		s.mu.Unlock()
		if s.log != nil {
			s.log.Warn("recording a SyncError event", "object", obj.Namespace+"/"+obj.Name, "error", err)
		}
	}
}

// syncErrorEvent is the Warning SyncError event msg about obj, named after the object's UID
// and the message so that recording it again is a no-op.
func syncErrorEvent(obj corev1.ObjectReference, msg string, now metav1.Time) *corev1.Event {
	sum := sha256.Sum256([]byte(string(obj.UID) + "\x00" + obj.Kind + "\x00" + msg))
	name := obj.Name
	if len(name) > 200 {
		name = name[:200]
	}
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name + ".syncerror-" + hex.EncodeToString(sum[:5]), Namespace: obj.Namespace},
		InvolvedObject: obj,
		Reason:         "SyncError", Message: msg, Type: corev1.EventTypeWarning,
		Source:         corev1.EventSource{Component: "vkube-syncer"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
}
