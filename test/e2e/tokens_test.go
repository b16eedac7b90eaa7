package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/syncer/translate"
	"vkube.io/vkube/test/images"
)

// TestPodTokensAreBoundToTheirPod: the tokens vkube gives synced pods, which it signs itself once
// the virtual API server has accepted one, are what a TokenRequest would return: the same key,
// issuer, audiences and claims, authenticated as the pod's service account, and dead with their pod.
func TestPodTokensAreBoundToTheirPod(t *testing.T) {
	v, hc, hostNS := startOnHost(t, "tokens")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	vc := v.Client()
	names := []string{"first", "second", "third"}
	tokens := map[string]string{}
	for i, name := range names {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{TerminationGracePeriodSeconds: new(int64),
			Containers: []corev1.Container{{Name: "pause", Image: images.Pause.Ref, ImagePullPolicy: corev1.PullIfNotPresent}}}}
		if _, err := vc.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(ctx, t, "the host twin of "+name+" with its token", func() bool {
			hp, err := hc.CoreV1().Pods(hostNS).Get(ctx, translate.HostName(name, "default", "tokens"), metav1.GetOptions{})
			if err == nil {
				tokens[name] = hp.Annotations[translate.AnnotationToken]
			}
			return tokens[name] != ""
		})
		if i == 0 {
			// The first pod's token came from a TokenRequest, and vkube checked its own against it.
			poll(ctx, t, "vkube signing pod tokens itself", func() bool {
				return strings.Contains(v.Output(), "minting pod tokens with the service-account key")
			})
		}
	}

	for _, name := range names {
		pod, err := vc.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		review := reviewToken(ctx, t, vc, tokens[name])
		if !review.Authenticated || review.User.Username != "system:serviceaccount:default:default" ||
			fmt.Sprint(review.User.Extra["authentication.kubernetes.io/pod-name"]) != "["+name+"]" ||
			fmt.Sprint(review.User.Extra["authentication.kubernetes.io/pod-uid"]) != "["+string(pod.UID)+"]" {
			t.Errorf("TokenReview of %s's token: %+v", name, review)
		}
	}

	// The last pod's token was signed by vkube: it has the shape of one the API server mints.
	pod, err := vc.CoreV1().Pods("default").Get(ctx, "third", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seconds := int64(3600)
	requested, err := vc.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default", &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{
		ExpirationSeconds: &seconds, BoundObjectRef: &authnv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	local, server := tokenShape(t, tokens["third"]), tokenShape(t, requested.Status.Token)
	if local != server {
		t.Errorf("vkube's token differs from the API server's:\nvkube  %s\nserver %s", local, server)
	}

	// Bound to its pod: once the pod is gone, so is the token.
	if err := vc.CoreV1().Pods("default").Delete(ctx, "first", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the first pod gone", func() bool {
		_, err := vc.CoreV1().Pods("default").Get(ctx, "first", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	poll(ctx, t, "the first pod's token refused", func() bool {
		return !reviewToken(ctx, t, vc, tokens["first"]).Authenticated
	})
}

func reviewToken(ctx context.Context, t *testing.T, vc kubernetes.Interface, token string) authnv1.TokenReviewStatus {
	t.Helper()
	r, err := vc.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

// tokenShape is a JWT's header and claims without what differs between two tokens for the same
// pod: times, ID, and the node the pod is bound to (vkube mints before the host schedules it).
func tokenShape(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	var header, claims map[string]any
	for i, into := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, into); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"iat", "nbf", "exp", "jti"} {
		if _, ok := claims[k]; !ok {
			t.Errorf("claim %s missing from %v", k, claims)
		}
		delete(claims, k)
	}
	if k8s, ok := claims["kubernetes.io"].(map[string]any); ok {
		delete(k8s, "node")
	}
	b, _ := json.Marshal(map[string]any{"header": header, "claims": claims})
	return string(b)
}
