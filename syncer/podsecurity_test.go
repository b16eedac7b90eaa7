package syncer

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"
)

func podWith(mutate func(*corev1.PodSpec)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "web", UID: "uid-1"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.local/hello:v1"}}}}
	if mutate != nil {
		mutate(&p.Spec)
	}
	return p
}

var (
	privileged = podWith(func(s *corev1.PodSpec) {
		s.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
	})
	restrictedOK = podWith(func(s *corev1.PodSpec) {
		s.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
		s.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	})
)

func TestPodSecurityViolation(t *testing.T) {
	hostPath := podWith(func(s *corev1.PodSpec) {
		s.Volumes = []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	})
	hostNet := podWith(func(s *corev1.PodSpec) { s.HostNetwork, s.HostPID = true, true })
	caps := podWith(func(s *corev1.PodSpec) {
		s.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}}
	})
	for _, tc := range []struct {
		host, virtual string
		pod           *corev1.Pod
		want          string // "" means allowed
	}{
		{"", "", privileged, ""},
		{"privileged", "", privileged, ""},
		{"privileged", "privileged", privileged, ""},
		{"baseline", "", podWith(nil), ""},
		{"baseline", "", privileged, `spec.containers[0].securityContext.privileged: violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true); only the host admin can allow it (policies.hostAccess.podSecurityStandard)`},
		{"baseline", "", hostPath, `spec.volumes[0].hostPath: violates PodSecurity "baseline:latest": hostPath volumes (volume "root")`},
		{"baseline", "", hostNet, `spec.hostNetwork, spec.hostPID: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true, hostPID=true)`},
		{"baseline", "", caps, `spec.containers[0].securityContext.capabilities.add: violates PodSecurity "baseline:latest": non-default capabilities (container "app" must not include "SYS_ADMIN"`},
		// The stricter level is checked; the message names the keys whose level the pod fails.
		{"privileged", "baseline", privileged, `privileged=true); only the host admin can allow it (policies.podSecurityStandard)`},
		{"baseline", "baseline", privileged, `only the host admin can allow it (policies.hostAccess.podSecurityStandard, policies.podSecurityStandard)`},
		{"baseline", "restricted", podWith(nil), `violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false`},
		{"baseline", "restricted", podWith(nil), `only the host admin can allow it (policies.podSecurityStandard)`},
		{"restricted", "", podWith(nil), `only the host admin can allow it (policies.hostAccess.podSecurityStandard)`},
		{"restricted", "baseline", restrictedOK, ""},
		{"strict", "", podWith(nil), `violates PodSecurity "restricted:latest"`},
	} {
		got, err := podSecurityViolation(tc.host, tc.virtual, tc.pod)
		if err != nil {
			t.Fatal(err)
		}
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("hostAccess %q, policies %q, pod %+v:\n got %q\nwant %q", tc.host, tc.virtual, tc.pod.Spec, got, tc.want)
		}
	}
}

// Ephemeral containers (kubectl debug) and a pod's mutable annotations are checked like the rest:
// an update of a synced pod cannot carry a violation past the check.
func TestPodSecurityCoversEphemeralContainersAndAnnotations(t *testing.T) {
	debug := podWith(func(s *corev1.PodSpec) {
		s.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox",
			SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}}
	})
	got, _ := podSecurityViolation("baseline", "", debug)
	if !strings.Contains(got, "spec.ephemeralContainers[0].securityContext.privileged: ") {
		t.Errorf("a privileged ephemeral container: %q", got)
	}
	unconfined := podWith(nil)
	unconfined.Annotations = map[string]string{corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "app": "unconfined"}
	got, _ = podSecurityViolation("baseline", "", unconfined)
	if !strings.Contains(got, `metadata.annotations["container.apparmor.security.beta.kubernetes.io/app"]: `) {
		t.Errorf("an unconfined AppArmor annotation: %q", got)
	}
}

func TestPodSecurityPaths(t *testing.T) {
	baseline := psapi.LevelVersion{Level: psapi.LevelBaseline, Version: psapi.LatestVersion()}
	restricted := psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}
	many := podWith(func(s *corev1.PodSpec) {
		s.Containers = append(s.Containers,
			corev1.Container{Name: "sidecar", Ports: []corev1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 443, HostPort: 443}},
				LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: "10.0.0.1", Port: intstr.FromInt32(80)}}}},
			corev1.Container{Name: "root", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true),
				Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}}}})
		s.InitContainers = []corev1.Container{{Name: "setup", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}
		s.Volumes = []corev1.Volume{
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
			{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}},
		}
		s.HostIPC = true
		s.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "kernel.shm_rmid_forced", Value: "0"}, {Name: "kernel.msgmax", Value: "65536"}}}
	})
	for _, tc := range []struct {
		name string
		lv   psapi.LevelVersion
		pod  *corev1.Pod
		want []string
	}{
		{"baseline, many fields", baseline, many, []string{
			"spec.containers[2].securityContext.capabilities.add",
			"spec.hostIPC",
			"spec.volumes[1].hostPath",
			"spec.containers[1].ports[1].hostPort",
			"spec.containers[1].livenessProbe.httpGet.host",
			"spec.containers[2].securityContext.privileged",
			"spec.initContainers[0].securityContext.privileged",
			"spec.securityContext.sysctls",
		}},
		{"restricted, a plain pod", restricted, podWith(nil), []string{
			"spec.containers[0].securityContext.allowPrivilegeEscalation",
			"spec.containers[0].securityContext.capabilities",
			"spec.containers[0].securityContext.runAsNonRoot",
			"spec.containers[0].securityContext.seccompProfile",
		}},
		{"restricted, pod-level runAsUser 0", restricted, podWith(func(s *corev1.PodSpec) {
			*s = restrictedOK.Spec
			s.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(0)), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
		}), []string{"spec.securityContext.runAsUser"}},
		{"restricted, a hostPath volume", restricted, podWith(func(s *corev1.PodSpec) {
			*s = *restrictedOK.Spec.DeepCopy()
			s.Volumes = []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		}), []string{"spec.volumes[0].hostPath"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := podSecurityPaths(tc.lv, &tc.pod.ObjectMeta, &tc.pod.Spec)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("paths:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestPodSecurityRefusalIsOneEventPerPodAndMessage(t *testing.T) {
	now := metav1.Now()
	e := podSecurityRefusal("baseline", "", privileged, now)
	if e == nil {
		t.Fatal("a privileged pod is synced under baseline")
	}
	if e.Namespace != "web" || e.Reason != "SyncError" || e.Type != corev1.EventTypeWarning || e.InvolvedObject.Name != "p" || e.InvolvedObject.UID != "uid-1" ||
		!strings.HasPrefix(e.Message, `not synced to the host: spec.containers[0].securityContext.privileged: violates PodSecurity "baseline:latest": privileged`) ||
		!strings.Contains(e.Message, "policies.hostAccess.podSecurityStandard") {
		t.Errorf("event: %+v", e)
	}
	// The apiserver refuses a second Event of the same name: every reconcile of the same
	// refusal names it alike, another pod (a new UID) or another reason does not.
	if again := podSecurityRefusal("baseline", "", privileged, metav1.Now()); again.Name != e.Name {
		t.Errorf("the same refusal named %q, then %q", e.Name, again.Name)
	}
	recreated := privileged.DeepCopy()
	recreated.UID = "uid-2"
	if other := podSecurityRefusal("baseline", "", recreated, now); other.Name == e.Name {
		t.Errorf("a recreated pod's refusal reuses the name %q", e.Name)
	}
	if other := podSecurityRefusal("restricted", "", privileged, now); other.Name == e.Name {
		t.Errorf("a refusal for another reason reuses the name %q", e.Name)
	}
	long := podWith(nil)
	long.Name = strings.Repeat("a", 253)
	long.Spec.HostNetwork = true
	if n := podSecurityRefusal("baseline", "", long, now).Name; len(n) > 253 {
		t.Errorf("event name of %d characters", len(n))
	}
	if podSecurityRefusal("baseline", "", podWith(nil), now) != nil {
		t.Error("a plain pod is refused under baseline")
	}
	if podSecurityRefusal("", "", privileged, now) != nil {
		t.Error("a pod is refused with no level set")
	}
}
