package legacy

import "vkube.io/vkube/config"

// convertIsolation maps isolation.* to policies. The chart only rendered the isolation objects
// with isolation.enabled, so without it the whole block is inert.
func (r *reader) convertIsolation(c *config.Config) {
	on, _ := r.boolean("isolation", "enabled")
	if !on {
		r.get("isolation")
		return
	}
	p := &c.Policies
	p.Isolate()
	if s, ok := r.str("isolation", "podSecurityStandard"); ok && s != "" {
		p.PodSecurityStandard = s
	}
	if on, ok := r.boolean("isolation", "resourceQuota", "enabled"); ok {
		p.ResourceQuota.Enabled = on
	}
	if q := r.stringMap("isolation", "resourceQuota", "quota"); len(q) > 0 {
		p.ResourceQuota.Quota = q
	}
	if on, ok := r.boolean("isolation", "limitRange", "enabled"); ok {
		p.LimitRange.Enabled = on
	}
	if m := r.stringMap("isolation", "limitRange", "default"); len(m) > 0 {
		p.LimitRange.Default = m
	}
	if m := r.stringMap("isolation", "limitRange", "defaultRequest"); len(m) > 0 {
		p.LimitRange.DefaultRequest = m
	}
	if on, ok := r.boolean("isolation", "networkPolicy", "enabled"); ok {
		p.NetworkPolicy.Enabled = on
	}
	ip := []string{"isolation", "networkPolicy", "outgoingConnections", "ipBlock"}
	if cidr, ok := r.str(append(ip, "cidr")...); ok {
		p.NetworkPolicy.OutgoingConnections.CIDR = cidr
	}
	if except := r.strs(append(ip, "except")...); except != nil {
		p.NetworkPolicy.OutgoingConnections.Except = except
	}
	// The legacy chart's namespace for isolation objects is the virtual cluster's own.
	r.get("isolation", "namespace")
}
