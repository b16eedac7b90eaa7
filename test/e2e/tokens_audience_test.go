package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/syncer/translate"
)

// TestProjectedTokenAudience: a projected token of its own audience (an OIDC client, Vault, a
// cloud's workload identity) is what a kubelet would write: that audience and lifetime, the pod's
// node in its claims, valid only for that audience, and verifiable with the virtual API server's
// OIDC discovery, as an outside verifier checks it.
func TestProjectedTokenAudience(t *testing.T) {
	v, _, _ := startOnHost(t, "audience")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	projectedTokenAudience(ctx, t, v.Client(), func(ctx context.Context, pod string, cmd ...string) (string, error) {
		return execIn(ctx, v, "default", pod, cmd...)
	})
}

// saTokenPath is where the default token of a pod's service account is mounted.
const saTokenPath = translate.ServiceAccountMount + "/token"

type execFunc func(ctx context.Context, pod string, cmd ...string) (string, error)

// projectedTokenAudience runs the audience checks on a virtual cluster (one replica or HA).
func projectedTokenAudience(ctx context.Context, t *testing.T, vc kubernetes.Interface, exec execFunc) {
	t.Helper()
	const name, path = "vault-client", "/var/run/secrets/vault/token"
	spec := helloSpec()
	spec.Volumes = []corev1.Volume{{Name: "vault", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{
		ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "vault", ExpirationSeconds: ptr.To(int64(600)), Path: "token"}}}}}}}
	spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "vault", MountPath: "/var/run/secrets/vault"}}
	if _, err := vc.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}}, Spec: spec}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := runningPod(ctx, t, vc, "default", "app="+name)
	// Minted before the host scheduled the pod, the first tokens name no node: the kubelet
	// writes the ones minted once the pod is bound within a minute or so.
	tokens := map[string]string{}
	for _, file := range []string{path, saTokenPath} {
		poll(ctx, t, "the token in "+file+" naming the pod's node", func() bool {
			out, err := exec(ctx, name, "/hello", "cat", file)
			if err != nil {
				return false
			}
			tokens[file] = strings.TrimSpace(out)
			return claimsOf(t, tokens[file]).Kubernetes.Node.Name == pod.Spec.NodeName
		})
	}

	vault := claimsOf(t, tokens[path])
	if !slices.Equal(vault.Audience, []string{"vault"}) || vault.Expiry-vault.IssuedAt != 600 {
		t.Errorf("vault's token: audience %v, lifetime %d s; want [vault], 600 s", vault.Audience, vault.Expiry-vault.IssuedAt)
	}
	node, err := vc.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	review := func(token string, audiences ...string) authnv1.TokenReviewStatus {
		r, err := vc.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token, Audiences: audiences}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}
	for file, audiences := range map[string][]string{path: {"vault"}, saTokenPath: nil} {
		r := review(tokens[file], audiences...)
		if !r.Authenticated || r.User.Username != "system:serviceaccount:default:default" ||
			fmt.Sprint(r.User.Extra["authentication.kubernetes.io/node-name"]) != "["+node.Name+"]" ||
			fmt.Sprint(r.User.Extra["authentication.kubernetes.io/node-uid"]) != "["+string(node.UID)+"]" ||
			fmt.Sprint(r.User.Extra["authentication.kubernetes.io/pod-uid"]) != "["+string(pod.UID)+"]" {
			t.Errorf("TokenReview of %s (audiences %v): %+v", file, audiences, r)
		}
	}
	if r := review(tokens[path]); r.Authenticated {
		t.Errorf("vault's token authenticates for the API server's own audience: %+v", r.User)
	}

	// An outside verifier: the issuer's discovery document and its keys.
	raw, err := vc.CoreV1().RESTClient().Get().AbsPath("/.well-known/openid-configuration").DoRaw(ctx)
	if err != nil {
		t.Fatalf("OIDC discovery: %v", err)
	}
	var discovery struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(raw, &discovery); err != nil || discovery.Issuer != vault.Issuer || discovery.JWKSURI == "" {
		t.Fatalf("discovery %s (%v): want the tokens' issuer %s", raw, err, vault.Issuer)
	}
	raw, err = vc.CoreV1().RESTClient().Get().AbsPath("/openid/v1/jwks").DoRaw(ctx)
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var keys jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatal(err)
	}
	for file, token := range tokens {
		parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var claims jwt.Claims
		if err := parsed.Claims(&keys, &claims); err != nil {
			t.Errorf("the token in %s does not verify with the issuer's JWKS: %v", file, err)
		}
	}
}

type podTokenClaims struct {
	Issuer     string   `json:"iss"`
	Audience   []string `json:"aud"`
	IssuedAt   int64    `json:"iat"`
	Expiry     int64    `json:"exp"`
	Kubernetes struct {
		Node struct {
			Name string `json:"name"`
		} `json:"node"`
	} `json:"kubernetes.io"`
}

func claimsOf(t *testing.T, token string) podTokenClaims {
	t.Helper()
	var c podTokenClaims
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return c
	}
	if err := parsed.UnsafeClaimsWithoutVerification(&c); err != nil {
		t.Fatal(err)
	}
	return c
}
