package syncer

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// PodSecurity admission says which containers and volumes fail a check, not which fields: a
// tenant reading "privileged (container "app" …)" on a pod of twenty containers, or a generated
// one, should not have to guess. podSecurityPaths finds the fields with the standard's own
// checks, one at a time, on parts of the pod: the pod-level fields alone, each volume alone,
// each container alone (with the pod-level fields it inherits). Which part fails is the
// standard's answer; which field of that part the check reads is the table below.

// checkEvaluator runs one of the standard's checks, with the standard's version handling.
type checkEvaluator struct {
	id policy.CheckID
	ev policy.Evaluator
}

func (c checkEvaluator) allows(lv psapi.LevelVersion, meta *metav1.ObjectMeta, spec *corev1.PodSpec) bool {
	return policy.AggregateCheckResults(c.ev.EvaluatePod(lv, meta, spec)).Allowed
}

var checkEvaluators = sync.OnceValues(func() ([]checkEvaluator, error) {
	var out []checkEvaluator
	for _, c := range policy.DefaultChecks() {
		ev, err := policy.NewEvaluator([]policy.Check{c}, nil)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", c.ID, err)
		}
		out = append(out, checkEvaluator{id: c.ID, ev: ev})
	}
	return out, nil
})

// podSecurityPaths names the fields of a pod that fail level lv, in the order of the checks
// (pod-level fields, volumes, then containers, init containers and ephemeral containers by
// index), each once. A failing check whose fields it cannot tell is named by the part that
// fails it, or "spec".
func podSecurityPaths(lv psapi.LevelVersion, meta *metav1.ObjectMeta, spec *corev1.PodSpec) ([]string, error) {
	checks, err := checkEvaluators()
	if err != nil {
		return nil, err
	}
	// The pod without its containers and volumes: what the pod-level fields alone do.
	bare := *spec
	bare.Containers, bare.InitContainers, bare.EphemeralContainers, bare.Volumes = nil, nil, nil, nil
	var paths []string
	for _, c := range checks {
		if c.allows(lv, meta, spec) {
			continue
		}
		found := len(paths)
		podLevel := !c.allows(lv, meta, &bare)
		if podLevel {
			paths = append(paths, podFields(c.id, meta, spec)...)
		}
		// Each part is probed with the pod-level fields: when those fail, every part would too.
		if !podLevel {
			for i := range spec.Volumes {
				one := bare
				one.Volumes = spec.Volumes[i : i+1]
				if !c.allows(lv, meta, &one) {
					paths = append(paths, fmt.Sprintf("spec.volumes[%d]%s", i, volumeSource(&spec.Volumes[i])))
				}
			}
			paths = append(paths, containerPaths(c, lv, meta, &bare, spec)...)
		}
		if len(paths) == found {
			paths = append(paths, "spec")
		}
	}
	return dedupe(paths), nil
}

// containerPaths are the fields of each container of spec that fail check c on its own.
func containerPaths(c checkEvaluator, lv psapi.LevelVersion, meta *metav1.ObjectMeta, bare, spec *corev1.PodSpec) []string {
	var paths []string
	probe := func(prefix string, i int, ctr *corev1.Container, one *corev1.PodSpec) {
		if !c.allows(lv, meta, one) {
			for _, f := range containerFields(c.id, ctr) {
				paths = append(paths, fmt.Sprintf("spec.%s[%d]%s", prefix, i, f))
			}
		}
	}
	for i := range spec.Containers {
		one := *bare
		one.Containers = spec.Containers[i : i+1]
		probe("containers", i, &spec.Containers[i], &one)
	}
	for i := range spec.InitContainers {
		one := *bare
		one.InitContainers = spec.InitContainers[i : i+1]
		probe("initContainers", i, &spec.InitContainers[i], &one)
	}
	for i := range spec.EphemeralContainers {
		one := *bare
		one.EphemeralContainers = spec.EphemeralContainers[i : i+1]
		probe("ephemeralContainers", i, (*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon), &one)
	}
	return paths
}

// containerFields are the fields (relative to the container, each starting with ".") that check
// id reads; "" (the container itself) for a check this table does not know.
func containerFields(id policy.CheckID, c *corev1.Container) []string {
	switch id {
	case "privileged":
		return []string{".securityContext.privileged"}
	case "capabilities_baseline":
		return []string{".securityContext.capabilities.add"}
	case "capabilities_restricted":
		return []string{".securityContext.capabilities"}
	case "allowPrivilegeEscalation":
		return []string{".securityContext.allowPrivilegeEscalation"}
	case "appArmorProfile":
		return []string{".securityContext.appArmorProfile"}
	case "procMount", "procMount_restricted":
		return []string{".securityContext.procMount"}
	case "runAsNonRoot":
		return []string{".securityContext.runAsNonRoot"}
	case "runAsUser":
		return []string{".securityContext.runAsUser"}
	case "seLinuxOptions":
		return []string{".securityContext.seLinuxOptions"}
	case "seccompProfile_baseline", "seccompProfile_restricted":
		return []string{".securityContext.seccompProfile"}
	case "windowsHostProcess":
		return []string{".securityContext.windowsOptions.hostProcess"}
	case "hostPorts":
		var out []string
		for i, p := range c.Ports {
			if p.HostPort != 0 {
				out = append(out, fmt.Sprintf(".ports[%d].hostPort", i))
			}
		}
		return orSelf(out)
	case "hostProbesAndHostLifecycle":
		return orSelf(hostProbeFields(c))
	}
	return []string{""}
}

// hostProbeFields are the probe and lifecycle handlers of c that name a host.
func hostProbeFields(c *corev1.Container) []string {
	var out []string
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
	}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
		if p.probe != nil {
			out = append(out, handlerHosts("."+p.name, p.probe.HTTPGet, p.probe.TCPSocket)...)
		}
	}
	if l := c.Lifecycle; l != nil {
		for _, h := range []struct {
			name    string
			handler *corev1.LifecycleHandler
		}{{"postStart", l.PostStart}, {"preStop", l.PreStop}} {
			if h.handler != nil {
				out = append(out, handlerHosts(".lifecycle."+h.name, h.handler.HTTPGet, h.handler.TCPSocket)...)
			}
		}
	}
	return out
}

func handlerHosts(prefix string, get *corev1.HTTPGetAction, tcp *corev1.TCPSocketAction) []string {
	var out []string
	if get != nil && get.Host != "" {
		out = append(out, prefix+".httpGet.host")
	}
	if tcp != nil && tcp.Host != "" {
		out = append(out, prefix+".tcpSocket.host")
	}
	return out
}

// podFields are the pod-level fields check id reads that are set in spec (or meta).
func podFields(id policy.CheckID, meta *metav1.ObjectMeta, spec *corev1.PodSpec) []string {
	var out []string
	sc := spec.SecurityContext
	if sc == nil {
		sc = &corev1.PodSecurityContext{}
	}
	switch id {
	case "hostNamespaces":
		for _, f := range []struct {
			name string
			set  bool
		}{{"spec.hostNetwork", spec.HostNetwork}, {"spec.hostPID", spec.HostPID}, {"spec.hostIPC", spec.HostIPC}} {
			if f.set {
				out = append(out, f.name)
			}
		}
	case "sysctls":
		out = append(out, "spec.securityContext.sysctls")
	case "appArmorProfile":
		if sc.AppArmorProfile != nil {
			out = append(out, "spec.securityContext.appArmorProfile")
		}
		var keys []string
		for k := range meta.Annotations {
			if strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) {
				keys = append(keys, fmt.Sprintf("metadata.annotations[%q]", k))
			}
		}
		sort.Strings(keys)
		out = append(out, keys...)
	case "seLinuxOptions":
		out = append(out, "spec.securityContext.seLinuxOptions")
	case "seccompProfile_baseline", "seccompProfile_restricted":
		out = append(out, "spec.securityContext.seccompProfile")
	case "runAsNonRoot":
		out = append(out, "spec.securityContext.runAsNonRoot")
	case "runAsUser":
		out = append(out, "spec.securityContext.runAsUser")
	case "windowsHostProcess":
		out = append(out, "spec.securityContext.windowsOptions.hostProcess")
	}
	return out
}

// volumeSource is ".<source>" of a volume (".hostPath"), the field a volume check reads.
func volumeSource(v *corev1.Volume) string {
	b, err := json.Marshal(v.VolumeSource)
	if err != nil {
		return ""
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil || len(fields) != 1 {
		return ""
	}
	for k := range fields {
		return "." + k
	}
	return ""
}

func orSelf(fields []string) []string {
	if len(fields) == 0 {
		return []string{""}
	}
	return fields
}

func dedupe(paths []string) []string {
	var out []string
	for _, p := range paths {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
