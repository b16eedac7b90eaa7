package translate

import corev1 "k8s.io/api/core/v1"

// Annotations that carry a pod's virtual ServiceAccount token and CA when no Secret does: the
// downward API projects them where the app expects its service account.
const (
	AnnotationToken   = "vkube.io/token"
	AnnotationTokenCA = "vkube.io/token-ca.crt"
)

// Token is how a host pod receives its virtual ServiceAccount token: inline in its own
// annotations (one host write per pod, vcluster's default too), or in a host Secret (the token
// then is not readable by whoever may only read pods).
type Token struct {
	// Secret names the host Secret holding token, ca.crt and namespace.
	Secret string
	// JWT and CA go into the host pod's annotations when no Secret is named.
	JWT string
	CA  []byte
}

func (t Token) minted() bool { return t.Secret != "" || t.JWT != "" }

// source projects one key of the token ("token" or "ca.crt") to path.
func (t Token) source(path, key string) corev1.VolumeProjection {
	if t.Secret != "" {
		return corev1.VolumeProjection{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: t.Secret},
			Items:                []corev1.KeyToPath{{Key: key, Path: path}},
		}}
	}
	field := AnnotationToken
	if key == "ca.crt" {
		field = AnnotationTokenCA
	}
	return corev1.VolumeProjection{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
		Path: path, FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.annotations['" + field + "']"},
	}}}}
}

// annotate puts an inline token into the host pod's annotations.
func (t Token) annotate(h *corev1.Pod) {
	if t.Secret != "" || t.JWT == "" {
		return
	}
	h.Annotations[AnnotationToken] = t.JWT
	h.Annotations[AnnotationTokenCA] = string(t.CA)
}
