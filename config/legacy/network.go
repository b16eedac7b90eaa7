package legacy

import "vkube.io/vkube/config"

// convertExposure maps the API Service (service.*) and Ingress (ingress.*).
func (r *reader) convertExposure(c *config.Config) {
	svc := &c.ControlPlane.Service
	if t, ok := r.str("service", "type"); ok {
		svc.Type = t
	}
	if m := r.stringMap("service", "annotations"); len(m) > 0 {
		svc.Annotations = m
	}
	if m := r.stringMap("service", "labels"); len(m) > 0 {
		svc.Labels = m
	}
	if p, ok := r.integer("service", "nodePort"); ok {
		svc.NodePort = p
	}

	on, _ := r.boolean("ingress", "enabled")
	if !on {
		// A disabled ingress block is inert, whatever the rest of it says.
		r.get("ingress")
		return
	}
	ing := &c.ControlPlane.Ingress
	ing.Enabled = true
	if h, ok := r.str("ingress", "host"); ok {
		ing.Host = h
	}
	if cls, ok := r.str("ingress", "ingressClassName"); ok {
		ing.IngressClassName = cls
	}
	if m := r.stringMap("ingress", "annotations"); len(m) > 0 {
		ing.Annotations = m
	}
	// vkube writes a networking.k8s.io/v1 Ingress with its own path.
	r.get("ingress", "pathType")
	r.get("ingress", "apiVersion")
}

// convertCoreDNS maps coredns.replicas and coredns.image.
func (r *reader) convertCoreDNS(c *config.Config) {
	d := &c.ControlPlane.CoreDNS.Deployment
	if n, ok := r.integer("coredns", "replicas"); ok {
		d.Replicas = n
	}
	if img, ok := r.str("coredns", "image"); ok {
		d.Image = img
	}
	if on, ok := r.boolean("coredns", "enabled"); ok && !on {
		r.ignore("coredns", "enabled")
	}
}
