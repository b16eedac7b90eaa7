package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// Annotations that carry a pod's virtual ServiceAccount token and CA when no Secret does: the
// downward API projects them where the app expects its service account. A projected token of
// its own audience or lifetime has its own key (TokenKey) beside the default one.
const (
	AnnotationToken   = "vkube.io/token"
	AnnotationTokenCA = "vkube.io/token-ca.crt"
	annotationPrefix  = "vkube.io/"
	defaultTokenKey   = "token"
)

// Token is how a host pod receives its virtual ServiceAccount tokens: inline in its own
// annotations (one host write per pod, vcluster's default too), or in a host Secret (the tokens
// then are not readable by whoever may only read pods).
type Token struct {
	// Secret names the host Secret holding the tokens (by TokenKey), ca.crt and namespace.
	Secret string
	// JWTs (by TokenKey) and CA go into the host pod's annotations when no Secret is named.
	JWTs map[string]string
	CA   []byte
}

// TokenSpec is what a projected serviceAccountToken source asks for.
type TokenSpec struct {
	Audience          string
	ExpirationSeconds int64
}

// DefaultTokenSpec is the token of the API server's own audiences that the service account
// admission plugin mounts (kube-api-access-*, 3607 s).
var DefaultTokenSpec = TokenSpec{ExpirationSeconds: 3607}

// TokenSpecOf is the spec of one projected source (the API defaults expirationSeconds to 3600).
func TokenSpecOf(s *corev1.ServiceAccountTokenProjection) TokenSpec {
	spec := TokenSpec{Audience: s.Audience, ExpirationSeconds: 3600}
	if s.ExpirationSeconds != nil {
		spec.ExpirationSeconds = *s.ExpirationSeconds
	}
	return spec
}

// IsDefault: the token of the API server's audiences with the admission plugin's lifetime (or
// the API's default one) shares the default key, as every pod mounts it.
func (s TokenSpec) IsDefault() bool {
	return s.Audience == "" && (s.ExpirationSeconds == 3607 || s.ExpirationSeconds == 3600)
}

// TokenKey is where the token of spec is kept: "token", or "token-<hash>" for another audience
// or lifetime (an annotation key cannot hold any audience string).
func TokenKey(spec TokenSpec) string {
	if spec.IsDefault() {
		return defaultTokenKey
	}
	sum := sha256.Sum256([]byte(spec.Audience + "\x00" + strconv.FormatInt(spec.ExpirationSeconds, 10)))
	return defaultTokenKey + "-" + hex.EncodeToString(sum[:])[:10]
}

// TokenAnnotation is the host pod annotation of the token kept under key.
func TokenAnnotation(key string) string { return annotationPrefix + key }

func (t Token) minted(key string) bool { return t.Secret != "" || t.JWTs[key] != "" }

// source projects one key of the token (a TokenKey, or "ca.crt") to path.
func (t Token) source(path, key string) corev1.VolumeProjection {
	if t.Secret != "" {
		return corev1.VolumeProjection{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: t.Secret},
			Items:                []corev1.KeyToPath{{Key: key, Path: path}},
		}}
	}
	field := TokenAnnotation(key)
	if key == "ca.crt" {
		field = AnnotationTokenCA
	}
	return corev1.VolumeProjection{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
		Path: path, FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.annotations['" + field + "']"},
	}}}}
}

// annotate puts inline tokens into the host pod's annotations.
func (t Token) annotate(h *corev1.Pod) {
	if t.Secret != "" || len(t.JWTs) == 0 {
		return
	}
	for key, jwt := range t.JWTs {
		h.Annotations[TokenAnnotation(key)] = jwt
	}
	h.Annotations[AnnotationTokenCA] = string(t.CA)
}
