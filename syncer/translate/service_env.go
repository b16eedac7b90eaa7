package translate

import (
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ServiceEnv builds the service-link variables the kubelet would give a pod for the Services
// of its namespace ({SVC}_SERVICE_HOST, {SVC}_PORT_{PORT}_{PROTO}_ADDR, …), from the virtual
// Services, since the host kubelet only knows host Services.
func ServiceEnv(svcs []*corev1.Service) []corev1.EnvVar {
	sorted := append([]*corev1.Service{}, svcs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var env []corev1.EnvVar
	for _, s := range sorted {
		ip := s.Spec.ClusterIP
		if ip == "" || ip == corev1.ClusterIPNone || len(s.Spec.Ports) == 0 {
			continue
		}
		if s.Namespace == "default" && s.Name == "kubernetes" {
			continue
		}
		prefix := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
		first := s.Spec.Ports[0]
		env = append(env,
			corev1.EnvVar{Name: prefix + "_SERVICE_HOST", Value: ip},
			corev1.EnvVar{Name: prefix + "_SERVICE_PORT", Value: strconv.Itoa(int(first.Port))},
			corev1.EnvVar{Name: prefix + "_PORT", Value: strings.ToLower(string(protocol(first))) + "://" + ip + ":" + strconv.Itoa(int(first.Port))},
		)
		for _, p := range s.Spec.Ports {
			port := strconv.Itoa(int(p.Port))
			proto := string(protocol(p))
			if p.Name != "" {
				env = append(env, corev1.EnvVar{Name: prefix + "_SERVICE_PORT_" + strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_")), Value: port})
			}
			base := prefix + "_PORT_" + port + "_" + proto
			env = append(env,
				corev1.EnvVar{Name: base, Value: strings.ToLower(proto) + "://" + ip + ":" + port},
				corev1.EnvVar{Name: base + "_PROTO", Value: strings.ToLower(proto)},
				corev1.EnvVar{Name: base + "_PORT", Value: port},
				corev1.EnvVar{Name: base + "_ADDR", Value: ip},
			)
		}
	}
	return env
}

func protocol(p corev1.ServicePort) corev1.Protocol {
	if p.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return p.Protocol
}
