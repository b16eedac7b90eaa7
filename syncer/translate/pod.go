package translate

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod is what a pod translation needs beyond the virtual pod itself.
type Pod struct {
	Context
	// Token is the pod's virtual ServiceAccount token, mounted where the app expects it.
	Token Token
	// APIHost and APIPort are where pods reach the virtual apiserver (KUBERNETES_SERVICE_*).
	APIHost string
	APIPort int
	// ServiceEnv are the virtual Services' link variables for the pod's namespace.
	ServiceEnv []corev1.EnvVar
	// DNS, when set, replaces the pod's DNS so virtual Service names resolve.
	DNS *corev1.PodDNSConfig
	// KeepNodeName pins the host pod to the node the virtual scheduler chose (real nodes).
	KeepNodeName bool
	// PriorityClassName, when set, is the host twin of the pod's virtual PriorityClass; without
	// it the class is dropped, since the host may not have it.
	PriorityClassName string
	// HostsImage, when set, is the vkube image of the helper that puts the virtual names in the
	// /etc/hosts of a pod with a subdomain; ClusterDomain is the virtual cluster's domain.
	HostsImage    string
	ClusterDomain string
}

// Annotations that carry virtual identity for downward-API fieldRefs, which would otherwise
// read the host pod's name, namespace and uid.
const (
	fieldName      = "metadata.annotations['" + AnnotationName + "']"
	fieldNamespace = "metadata.annotations['" + AnnotationNamespace + "']"
	fieldUID       = "metadata.annotations['" + AnnotationUID + "']"
)

// ServiceAccountMount is where Kubernetes mounts a pod's service account.
const ServiceAccountMount = "/var/run/secrets/kubernetes.io/serviceaccount"

// HostPod translates a virtual pod into its host twin. The host pod gets no host credentials,
// the virtual ServiceAccount token instead, the virtual API as `kubernetes`, translated names
// for everything it references, and no scheduler/priority/runtime class the host may lack.
func (p Pod) HostPod(v *corev1.Pod) (*corev1.Pod, error) {
	h := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}}
	h.Name = HostName(v.Name, v.Namespace, p.VCluster)
	h.Namespace = p.HostNamespace
	h.Labels = p.HostLabels(v.Namespace, v.Labels)
	// The tenant's keys in vkube's prefix (its own token annotations, a forged identity) never
	// reach the host.
	h.Annotations = withoutReserved(v.Annotations, 6)
	h.Annotations[AnnotationName] = v.Name
	h.Annotations[AnnotationNamespace] = v.Namespace
	h.Annotations[AnnotationUID] = string(v.UID)
	h.Annotations[AnnotationKind] = "Pod"

	spec := v.Spec.DeepCopy()
	if p.KeepNodeName {
		// The virtual scheduler already matched the pod against the virtual node's labels,
		// which the host node may not carry: the host kubelet would refuse the pod.
		spec.NodeSelector = nil
		if spec.Affinity != nil {
			spec.Affinity.NodeAffinity = nil
		}
	} else {
		spec.NodeName = ""
	}
	spec.ServiceAccountName = ""
	spec.DeprecatedServiceAccount = ""
	spec.AutomountServiceAccountToken = ptrBool(false)
	spec.SchedulerName = ""
	spec.PriorityClassName = p.PriorityClassName
	// The host resolves the priority and policy of its own class.
	spec.Priority = nil
	spec.PreemptionPolicy = nil
	spec.RuntimeClassName = nil
	spec.Overhead = nil
	if spec.Hostname == "" {
		// Apps see their virtual pod name as hostname, not the translated host name.
		spec.Hostname = podHostname(v.Name)
	}
	links := spec.EnableServiceLinks == nil || *spec.EnableServiceLinks
	spec.EnableServiceLinks = ptrBool(false)
	for i := range spec.ImagePullSecrets {
		spec.ImagePullSecrets[i].Name = HostName(spec.ImagePullSecrets[i].Name, v.Namespace, p.VCluster)
	}
	if p.DNS != nil && (spec.DNSPolicy == "" || spec.DNSPolicy == corev1.DNSClusterFirst || spec.DNSPolicy == corev1.DNSClusterFirstWithHostNet) {
		spec.DNSPolicy = corev1.DNSNone
		spec.DNSConfig = p.DNS.DeepCopy()
	}
	for i := range spec.Volumes {
		if err := p.volume(&spec.Volumes[i], v); err != nil {
			return nil, err
		}
	}
	for _, containers := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range containers {
			p.container(&containers[i], v, links)
		}
	}
	for i := range spec.EphemeralContainers {
		p.container((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon), v, links)
	}
	p.rewriteHosts(spec, v)
	h.Spec = *spec
	p.Token.annotate(h)
	return h, nil
}

// volume translates one volume in place; the service account token volume is fed from the
// virtual token (see Token).
func (p Pod) volume(vol *corev1.Volume, v *corev1.Pod) error {
	for _, name := range VolumeSecretNames(vol) {
		*name = HostName(*name, v.Namespace, p.VCluster)
	}
	switch {
	case vol.Ephemeral != nil && vol.Ephemeral.VolumeClaimTemplate != nil:
		return HostClaimSpec(&vol.Ephemeral.VolumeClaimTemplate.Spec, "spec.volumes["+vol.Name+"].ephemeral.volumeClaimTemplate.spec", v.Namespace, p.VCluster)
	case vol.ConfigMap != nil:
		vol.ConfigMap.Name = HostName(vol.ConfigMap.Name, v.Namespace, p.VCluster)
	case vol.Secret != nil:
		vol.Secret.SecretName = HostName(vol.Secret.SecretName, v.Namespace, p.VCluster)
	case vol.PersistentVolumeClaim != nil:
		vol.PersistentVolumeClaim.ClaimName = HostName(vol.PersistentVolumeClaim.ClaimName, v.Namespace, p.VCluster)
	case vol.DownwardAPI != nil:
		for i := range vol.DownwardAPI.Items {
			rewriteFieldRef(vol.DownwardAPI.Items[i].FieldRef)
		}
	case vol.Projected != nil:
		var sources []corev1.VolumeProjection
		for _, s := range vol.Projected.Sources {
			switch {
			case s.ServiceAccountToken != nil:
				key := TokenKey(TokenSpecOf(s.ServiceAccountToken))
				if !p.Token.minted(key) {
					return fmt.Errorf("volume %s needs a service account token but none was minted", vol.Name)
				}
				sources = append(sources, p.Token.source(s.ServiceAccountToken.Path, key))
			case s.ConfigMap != nil && s.ConfigMap.Name == "kube-root-ca.crt":
				sources = append(sources, p.Token.source("ca.crt", "ca.crt"))
			case s.ConfigMap != nil:
				s.ConfigMap.Name = HostName(s.ConfigMap.Name, v.Namespace, p.VCluster)
				sources = append(sources, s)
			case s.Secret != nil:
				s.Secret.Name = HostName(s.Secret.Name, v.Namespace, p.VCluster)
				sources = append(sources, s)
			case s.DownwardAPI != nil:
				for i := range s.DownwardAPI.Items {
					rewriteFieldRef(s.DownwardAPI.Items[i].FieldRef)
				}
				sources = append(sources, s)
			default:
				sources = append(sources, s)
			}
		}
		vol.Projected.Sources = sources
	}
	return nil
}

func (p Pod) container(c *corev1.Container, v *corev1.Pod, links bool) {
	env := make([]corev1.EnvVar, 0, len(c.Env)+len(p.ServiceEnv)+2)
	if p.APIHost != "" {
		port := strconv.Itoa(p.APIPort)
		env = append(env,
			corev1.EnvVar{Name: "KUBERNETES_SERVICE_HOST", Value: p.APIHost},
			corev1.EnvVar{Name: "KUBERNETES_SERVICE_PORT", Value: port},
			corev1.EnvVar{Name: "KUBERNETES_SERVICE_PORT_HTTPS", Value: port},
			corev1.EnvVar{Name: "KUBERNETES_PORT", Value: "tcp://" + p.APIHost + ":" + port},
			corev1.EnvVar{Name: "KUBERNETES_PORT_443_TCP", Value: "tcp://" + p.APIHost + ":" + port},
			corev1.EnvVar{Name: "KUBERNETES_PORT_443_TCP_PROTO", Value: "tcp"},
			corev1.EnvVar{Name: "KUBERNETES_PORT_443_TCP_ADDR", Value: p.APIHost},
			corev1.EnvVar{Name: "KUBERNETES_PORT_443_TCP_PORT", Value: port},
		)
	}
	if links {
		env = append(env, p.ServiceEnv...)
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			e.ValueFrom = e.ValueFrom.DeepCopy()
			switch {
			case e.ValueFrom.ConfigMapKeyRef != nil:
				e.ValueFrom.ConfigMapKeyRef.Name = HostName(e.ValueFrom.ConfigMapKeyRef.Name, v.Namespace, p.VCluster)
			case e.ValueFrom.SecretKeyRef != nil:
				e.ValueFrom.SecretKeyRef.Name = HostName(e.ValueFrom.SecretKeyRef.Name, v.Namespace, p.VCluster)
			case e.ValueFrom.FieldRef != nil:
				rewriteFieldRef(e.ValueFrom.FieldRef)
			}
		}
		env = append(env, e)
	}
	c.Env = env
	for i := range c.EnvFrom {
		if r := c.EnvFrom[i].ConfigMapRef; r != nil {
			r.Name = HostName(r.Name, v.Namespace, p.VCluster)
		}
		if r := c.EnvFrom[i].SecretRef; r != nil {
			r.Name = HostName(r.Name, v.Namespace, p.VCluster)
		}
	}
}

func rewriteFieldRef(f *corev1.ObjectFieldSelector) {
	if f == nil {
		return
	}
	switch f.FieldPath {
	case "metadata.name":
		f.FieldPath = fieldName
	case "metadata.namespace":
		f.FieldPath = fieldNamespace
	case "metadata.uid":
		f.FieldPath = fieldUID
	}
}

func ptrBool(b bool) *bool { return &b }

// podHostname is the hostname a pod of this name gets. A kubelet uses the name itself, but
// spec.hostname must be one DNS label: a dotted name (web.v1) gets its dots as dashes, and a long
// one is shortened, where the host would refuse the pod.
func podHostname(name string) string {
	return SafeName(strings.ReplaceAll(name, ".", "-"))
}
