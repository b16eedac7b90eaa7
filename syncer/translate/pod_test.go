package translate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

func virtualPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "team", UID: "u-1", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			NodeName: "vnode", ServiceAccountName: "builder", SchedulerName: "custom", PriorityClassName: "high",
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
			Volumes: []corev1.Volume{
				{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
				{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
				{Name: "kube-api-access-x", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
				}}}},
			},
			Containers: []corev1.Container{{Name: "web", Image: "hello:v1",
				Env: []corev1.EnvVar{
					{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "pw"}}},
				},
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
			}},
		},
	}
}

func TestHostPod(t *testing.T) {
	p := Pod{Context: Context{VCluster: "vc", HostNamespace: "host-ns"}, Token: Token{Secret: "web-1-x-team-x-vc-token"}, APIHost: "10.96.0.7", APIPort: 443,
		ServiceEnv: ServiceEnv([]*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "db-main", Namespace: "team"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.3.4", Ports: []corev1.ServicePort{{Name: "sql", Port: 5432}}}}}),
		DNS:        &corev1.PodDNSConfig{Nameservers: []string{"10.96.0.20"}}}
	h, err := p.HostPod(virtualPod())
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "web-1-x-team-x-vc" || h.Namespace != "host-ns" {
		t.Errorf("name %s/%s", h.Namespace, h.Name)
	}
	if h.Labels[LabelManagedBy] != "vc" || h.Labels["app"] != "web" || h.Annotations[AnnotationUID] != "u-1" {
		t.Errorf("markers: %v %v", h.Labels, h.Annotations)
	}
	s := h.Spec
	if s.NodeName != "" || s.ServiceAccountName != "" || s.SchedulerName != "" || s.PriorityClassName != "" || *s.AutomountServiceAccountToken || *s.EnableServiceLinks {
		t.Errorf("host-irrelevant fields kept: %+v", s)
	}
	if s.ImagePullSecrets[0].Name != "regcred-x-team-x-vc" || s.Volumes[0].ConfigMap.Name != "settings-x-team-x-vc" || s.Volumes[1].PersistentVolumeClaim.ClaimName != "data-x-team-x-vc" {
		t.Errorf("references not translated: %+v", s)
	}
	src := s.Volumes[2].Projected.Sources
	if src[0].Secret == nil || src[0].Secret.Name != p.Token.Secret || src[0].Secret.Items[0].Key != "token" || src[1].Secret.Items[0].Key != "ca.crt" {
		t.Errorf("token volume: %+v", src)
	}
	if src[2].DownwardAPI.Items[0].FieldRef.FieldPath != fieldNamespace {
		t.Errorf("downward API namespace not virtual: %+v", src[2])
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range s.Containers[0].Env {
		env[e.Name] = e
	}
	if env["KUBERNETES_SERVICE_HOST"].Value != "10.96.0.7" || env["DB_MAIN_SERVICE_HOST"].Value != "10.96.3.4" || env["DB_MAIN_SERVICE_PORT_SQL"].Value != "5432" {
		t.Errorf("env: %v", env)
	}
	if env["POD"].ValueFrom.FieldRef.FieldPath != fieldName || env["PW"].ValueFrom.SecretKeyRef.Name != "db-x-team-x-vc" {
		t.Errorf("env refs: %+v %+v", env["POD"], env["PW"])
	}
	if s.Containers[0].EnvFrom[0].ConfigMapRef.Name != "settings-x-team-x-vc" || s.DNSPolicy != corev1.DNSNone {
		t.Errorf("envFrom/dns: %+v %s", s.Containers[0].EnvFrom, s.DNSPolicy)
	}
	if !strings.Contains(virtualPod().Spec.Volumes[0].ConfigMap.Name, "settings") {
		t.Error("translation changed its input")
	}
}

func TestHostPodWithoutToken(t *testing.T) {
	if _, err := (Pod{Context: Context{VCluster: "vc", HostNamespace: "h"}}).HostPod(virtualPod()); err == nil {
		t.Fatal("a token volume without a minted token was accepted")
	}
}

func TestHostPodPriorityClass(t *testing.T) {
	v := virtualPod()
	prio := int32(1000)
	v.Spec.Priority = &prio
	p := Pod{Context: Context{VCluster: "vc", HostNamespace: "host-ns"}, Token: Token{Secret: "t"}}
	h, err := p.HostPod(v)
	if err != nil {
		t.Fatal(err)
	}
	if h.Spec.PriorityClassName != "" || h.Spec.Priority != nil {
		t.Errorf("class %q priority %v kept without a host twin", h.Spec.PriorityClassName, h.Spec.Priority)
	}
	p.PriorityClassName = HostClusterScopedName("high", "host-ns", "vc")
	if h, _ = p.HostPod(v); h.Spec.PriorityClassName != "vkube-vc-x-host-ns-x-high" || h.Spec.Priority != nil {
		t.Errorf("class %q priority %v: want the twin, resolved by the host", h.Spec.PriorityClassName, h.Spec.Priority)
	}
}

func TestHostPodInlineToken(t *testing.T) {
	v := virtualPod()
	v.Annotations = map[string]string{AnnotationToken: "forged"}
	p := Pod{Context: Context{VCluster: "vc", HostNamespace: "host-ns"}, Token: Token{JWTs: map[string]string{"token": "a.b.c"}, CA: []byte("PEM")}}
	h, err := p.HostPod(v)
	if err != nil {
		t.Fatal(err)
	}
	if h.Annotations[AnnotationToken] != "a.b.c" || h.Annotations[AnnotationTokenCA] != "PEM" {
		t.Errorf("token annotations: %v", h.Annotations)
	}
	src := h.Spec.Volumes[2].Projected.Sources
	if src[0].DownwardAPI == nil || src[0].DownwardAPI.Items[0].FieldRef.FieldPath != "metadata.annotations['"+AnnotationToken+"']" ||
		src[1].DownwardAPI == nil || src[1].DownwardAPI.Items[0].Path != "ca.crt" || src[1].DownwardAPI.Items[0].FieldRef.FieldPath != "metadata.annotations['"+AnnotationTokenCA+"']" {
		t.Errorf("token volume: %+v", src)
	}
	for _, s := range src {
		if s.Secret != nil {
			t.Errorf("a Secret source with an inline token: %+v", s)
		}
	}
}

// TestDottedPodNameHostname: a pod named web.v1 is valid, but spec.hostname "web.v1" is not: the
// host would refuse the twin.
func TestDottedPodNameHostname(t *testing.T) {
	p := Pod{Context: Context{VCluster: "vc", HostNamespace: "host-ns"}}
	h, err := p.HostPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web.v1", Namespace: "team"}})
	if err != nil {
		t.Fatal(err)
	}
	if errs := validation.IsDNS1123Label(h.Spec.Hostname); len(errs) != 0 || h.Spec.Hostname != "web-v1" {
		t.Errorf("hostname %q: %v", h.Spec.Hostname, errs)
	}
}
