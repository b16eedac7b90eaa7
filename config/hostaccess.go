package config

// PriorityClassCeiling is the highest value a synced PriorityClass keeps on the host: 0 unless
// the host admin set maxPriorityClassValue.
func (h HostAccess) PriorityClassCeiling() int32 {
	if h.MaxPriorityClassValue == nil {
		return 0
	}
	return *h.MaxPriorityClassValue
}

// HostNamespacePodSecurity is the Pod Security level the host namespace enforces
// (pod-security.kubernetes.io/enforce): the stricter of hostAccess.podSecurityStandard and
// podSecurityStandard, which the syncer holds synced pods to as well; "" when neither is set.
// An unknown level counts as restricted, as Pod Security admission takes it.
func (p Policies) HostNamespacePodSecurity() string {
	level := ""
	for _, l := range []string{p.HostAccess.PodSecurityStandard, p.PodSecurityStandard} {
		if l != "" && podSecurityRank(l) > podSecurityRank(level) {
			level = l
		}
	}
	if level != "" && podSecurityRank(level) == podSecurityRank("restricted") {
		return "restricted"
	}
	return level
}

func podSecurityRank(level string) int {
	switch level {
	case "":
		return -1
	case "privileged":
		return 0
	case "baseline":
		return 1
	}
	return 2
}
