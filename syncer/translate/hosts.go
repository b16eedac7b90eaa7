package translate

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"vkube.io/vkube/syncer/translate/hostsfile"
)

// The host kubelet writes a pod's /etc/hosts with the host namespace and domain in the line of
// a pod with a subdomain (`IP hostname.subdomain.HOSTNS.svc.DOMAIN hostname`). A helper init
// container (vkube-hosts, in the vkube image) copies the file with the virtual name in that line
// into an emptyDir, which every container mounts at /etc/hosts: the kubelet leaves a container
// that mounts /etc/hosts itself alone (vcluster's rewrite-hosts does the same).
const (
	// HostsHelper names the helper init container and its volume on the host pod.
	HostsHelper = "vkube-hosts"
	etcHosts    = "/etc/hosts"
	hostsDir    = "/vkube-hosts"
	hostsFile   = "hosts"
)

// needsHostsRewrite: only a pod with a subdomain gets a line naming its namespace, and a pod on
// the host network gets the node's file.
func (p Pod) needsHostsRewrite(spec *corev1.PodSpec) bool {
	// A tenant that took the helper's name gets its pod as the host kubelet makes it.
	return p.HostsImage != "" && spec.Subdomain != "" && !spec.HostNetwork && !NamesHostsHelper(spec)
}

// NamesHostsHelper reports whether the tenant's own pod has a volume or container of the helper's
// name: its pod then has no helper, and its status is the tenant's own.
func NamesHostsHelper(spec *corev1.PodSpec) bool {
	for _, vol := range spec.Volumes {
		if vol.Name == HostsHelper {
			return true
		}
	}
	for _, containers := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range containers {
			if c.Name == HostsHelper {
				return true
			}
		}
	}
	for _, c := range spec.EphemeralContainers {
		if c.Name == HostsHelper {
			return true
		}
	}
	return false
}

// rewriteHosts adds the helper and its mounts to spec, whose hostname is already set. Containers
// that mount /etc/hosts themselves keep their own. Ephemeral containers (kubectl debug) see the
// kubelet's file: the API forbids them a subPath mount.
func (p Pod) rewriteHosts(spec *corev1.PodSpec, v *corev1.Pod) {
	if !p.needsHostsRewrite(spec) {
		return
	}
	prefix := spec.Hostname + "." + spec.Subdomain + "."
	helper := corev1.Container{
		Name:    HostsHelper,
		Image:   p.HostsImage,
		Command: []string{hostsfile.HelperPath},
		Args: []string{"--from", prefix + p.HostNamespace + ".svc.",
			"--to", prefix + v.Namespace + ".svc." + p.ClusterDomain, "--out", hostsDir + "/" + hostsFile},
		Resources:                helperResources(v.Status.QOSClass),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		VolumeMounts:             []corev1.VolumeMount{{Name: HostsHelper, MountPath: hostsDir}},
		SecurityContext: &corev1.SecurityContext{
			// Restricted Pod Security on the host admits it whatever the tenant's pod runs as.
			RunAsNonRoot: ptrBool(true), RunAsUser: new(int64(1000)), RunAsGroup: new(int64(1000)),
			AllowPrivilegeEscalation: ptrBool(false), ReadOnlyRootFilesystem: ptrBool(true),
			Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: HostsHelper, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	for _, containers := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range containers {
			mountHosts(&containers[i].VolumeMounts)
		}
	}
	spec.InitContainers = append([]corev1.Container{helper}, spec.InitContainers...)
}

func mountHosts(mounts *[]corev1.VolumeMount) {
	for _, m := range *mounts {
		if m.MountPath == etcHosts {
			return
		}
	}
	*mounts = append(*mounts, corev1.VolumeMount{Name: HostsHelper, MountPath: etcHosts, SubPath: hostsFile, ReadOnly: true})
}

// helperResources keeps the pod's QoS class: a BestEffort pod's helper asks for nothing, any
// other's asks for what it may use (a Guaranteed pod needs requests equal to limits in every
// container, and a namespace quota may demand limits).
func helperResources(qos corev1.PodQOSClass) corev1.ResourceRequirements {
	if qos == corev1.PodQOSBestEffort {
		return corev1.ResourceRequirements{}
	}
	// vkube-hosts takes a few milliseconds of CPU and under 8 MiB.
	r := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m"), corev1.ResourceMemory: resource.MustParse("32Mi")}
	return corev1.ResourceRequirements{Requests: r, Limits: r.DeepCopy()}
}
