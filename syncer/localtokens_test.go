package syncer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/keyutil"
)

func testSigner(t *testing.T, key any) *localTokens {
	t.Helper()
	pemKey, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	if err := idx.Add(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: "ci", UID: "sa-uid"}}); err != nil {
		t.Fatal(err)
	}
	l, err := newLocalTokens(pemKey, corelisters.NewServiceAccountLister(idx), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var boundPod = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "job-1", Namespace: "ci", UID: "pod-uid"}, Spec: corev1.PodSpec{ServiceAccountName: "builder"}}

func TestLocalTokenHasTheAPIServersShape(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	l := testSigner(t, key)
	token, expiry, err := l.sign(context.Background(), boundPod, "https://kubernetes.default.svc.cluster.local", []string{"https://kubernetes.default.svc.cluster.local"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(expiry); d < 59*time.Minute || d > time.Hour {
		t.Errorf("expiry in %s", d)
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	// The API server looks its key up by this ID: the SHA-256 of the public key's DER, base64url.
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(der)
	if kid := parsed.Headers[0].KeyID; kid != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("kid %q", kid)
	}
	var public jwt.Claims
	var private podBoundClaims
	var raw map[string]any
	if err := parsed.Claims(&key.PublicKey, &public, &private, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["aud"].([]any); !ok {
		t.Errorf("aud %#v: the API server writes a list", raw["aud"])
	}
	if public.Subject != "system:serviceaccount:ci:builder" || public.Issuer != "https://kubernetes.default.svc.cluster.local" || public.ID == "" ||
		len(public.Audience) != 1 || public.NotBefore == nil || public.IssuedAt == nil {
		t.Errorf("public claims %+v", public)
	}
	k := private.Kubernetes
	if k.Namespace != "ci" || k.ServiceAccount != (claimRef{Name: "builder", UID: "sa-uid"}) || k.Pod != (claimRef{Name: "job-1", UID: "pod-uid"}) {
		t.Errorf("kubernetes.io claims %+v", k)
	}
}

func TestLocalTokensWaitForCalibration(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	l := testSigner(t, key)
	if _, _, ok, err := l.mint(context.Background(), boundPod, "", time.Hour); ok || err != nil {
		t.Errorf("minted before the API server accepted a token: %v %v", ok, err)
	}
}

// A distro that signs with a key of its own keeps TokenRequest, without asking the API server.
func TestLocalTokensRefuseAnotherKey(t *testing.T) {
	ours, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	theirs, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, key := range map[string]any{"another ECDSA key": theirs, "an RSA key": rsaKey} {
		minted, _, err := testSigner(t, key).sign(context.Background(), boundPod, "https://issuer", []string{"https://issuer"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		l := testSigner(t, ours)
		l.learn(context.Background(), boundPod, minted, time.Hour)
		if l.state != refused {
			t.Errorf("%s: state %v after a token signed with another key", name, l.state)
		}
		if _, _, ok, _ := l.mint(context.Background(), boundPod, "", time.Hour); ok {
			t.Errorf("%s: minted after refusing", name)
		}
	}
}
