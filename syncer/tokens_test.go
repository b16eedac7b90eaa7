package syncer

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/syncer/translate"
)

func unsignedJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return "e30." + base64.RawURLEncoding.EncodeToString(b) + ".sig"
}

// TestTokenDue: a token is renewed at 80% of its life as the kubelet does, but never with less
// than the informers' resync left (so a resync always comes in time), nor past half its life.
func TestTokenDue(t *testing.T) {
	iat := time.Unix(1_800_000_000, 0)
	for _, c := range []struct {
		lifetime, before time.Duration
	}{{time.Hour, 12 * time.Minute}, {10 * time.Minute, 5 * time.Minute}, {20 * time.Minute, 6 * time.Minute}, {48 * time.Hour, 48 * time.Hour / 5}} {
		exp := iat.Add(c.lifetime)
		due, node, _ := tokenDue(unsignedJWT(t, map[string]any{"iat": iat.Unix(), "exp": exp.Unix(), "kubernetes.io": map[string]any{"node": map[string]any{"name": "n1"}}}))
		if want := exp.Add(-c.before); !due.Equal(want) || node != "n1" {
			t.Errorf("lifetime %v: due %v node %q, want %v n1", c.lifetime, due, node, want)
		}
	}
	if due, _, _ := tokenDue("not-a-jwt"); !due.IsZero() {
		t.Errorf("an unreadable token is due at %v, want now", due)
	}
}

// TestTokenSpecs: each projected source of its own audience or lifetime gets its own token; the
// admission plugin's kube-api-access token and the API's default share one.
func TestTokenSpecs(t *testing.T) {
	token := func(aud string, secs *int64) corev1.VolumeProjection {
		return corev1.VolumeProjection{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: aud, ExpirationSeconds: secs, Path: "t"}}
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{token("", ptr.To(int64(3607)))}}}},
		{Name: "default", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{token("", nil)}}}},
		{Name: "vault", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{token("vault", ptr.To(int64(600))), token("sts.amazonaws.com", nil)}}}},
	}}}
	specs := tokenSpecs(pod)
	if len(specs) != 3 || specs["token"] != (translate.TokenSpec{ExpirationSeconds: 3607}) && specs["token"] != (translate.TokenSpec{ExpirationSeconds: 3600}) {
		t.Fatalf("specs %v", specs)
	}
	vault := translate.TokenSpec{Audience: "vault", ExpirationSeconds: 600}
	if got := specs[translate.TokenKey(vault)]; got != vault || lifetimeOf(got) != 10*time.Minute {
		t.Errorf("vault's token %+v", got)
	}
	if lifetimeOf(specs["token"]) != time.Hour {
		t.Errorf("the default token lives %v", lifetimeOf(specs["token"]))
	}
}

// TestReplaceAt: a token minted before its pod was bound gets the node claims 30 s after it was
// minted (not at once: a burst of pods would cost two host writes each) when vkube signs; kept
// until due when the API server mints; replaced at once if it names another node.
func TestReplaceAt(t *testing.T) {
	now := time.Now()
	renew := now.Add(time.Hour)
	bound := &corev1.Pod{Spec: corev1.PodSpec{NodeName: "n1"}}
	signing := &tokens{local: &localTokens{state: calibrated}}
	requesting := &tokens{}
	for _, c := range []struct {
		name   string
		t      *tokens
		node   string
		issued time.Time
		want   time.Time
	}{
		{"bound alike", signing, "n1", now, renew},
		{"minted unbound, vkube signs", signing, "", now, now.Add(nodeClaimDelay)},
		{"minted unbound, the API server mints", requesting, "", now, renew},
		{"another node", signing, "n2", now, time.Time{}},
	} {
		if got := c.t.replaceAt(bound, renew, c.node, c.issued); !got.Equal(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
