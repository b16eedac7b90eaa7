package connect

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The forward itself needs a pod on a kubelet: test/e2e covers it (cli_test.go, seeds_test.go).
func TestPodGone(t *testing.T) {
	forwarded := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "vc-0", Namespace: "ns", UID: "uid-1"}}
	recreated := forwarded.DeepCopy()
	recreated.UID = "uid-2"
	terminating := forwarded.DeepCopy()
	terminating.DeletionTimestamp = &metav1.Time{}
	for _, tc := range []struct {
		desc string
		live *corev1.Pod
		err  error
		want bool
	}{
		{"still there", forwarded, nil, false},
		{"deleted", nil, apierrors.NewNotFound(corev1.Resource("pods"), "vc-0"), true},
		{"recreated by its StatefulSet", recreated, nil, true},
		{"terminating", terminating, nil, true},
		{"the API unreachable for a moment", nil, errors.New("connection refused"), false},
	} {
		if got := podGone(forwarded, tc.live, tc.err); got != tc.want {
			t.Errorf("%s: gone %v, want %v", tc.desc, got, tc.want)
		}
	}
}
