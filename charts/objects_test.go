package charts

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"vkube.io/vkube/config"
	"vkube.io/vkube/hostside"
	"vkube.io/vkube/names"
)

const (
	testName      = "team-a"
	testNamespace = "vkube-team-a"
)

func TestDefaults(t *testing.T) {
	r := mustRender(t, testName, testNamespace, nil)

	wantKinds := []string{
		"Secret/vc-config-team-a", "ServiceAccount/vkube-team-a", "Role/vkube-team-a", "RoleBinding/vkube-team-a",
		"Service/team-a", "Service/team-a-headless", "Service/team-a-dns", "Service/team-a-kubelet", "StatefulSet/team-a",
	}
	if got := slices.Sorted(slices.Values(r.kinds)); !slices.Equal(got, slices.Sorted(slices.Values(wantKinds))) {
		t.Errorf("objects: %v, want %v", got, wantKinds)
	}
	checkCommon(t, r)

	sts := r.statefulSet
	if sts.Spec.ServiceName != "team-a-headless" || sts.Spec.PodManagementPolicy != "Parallel" || *sts.Spec.Replicas != 1 {
		t.Errorf("StatefulSet: serviceName %q podManagementPolicy %q replicas %d", sts.Spec.ServiceName, sts.Spec.PodManagementPolicy, *sts.Spec.Replicas)
	}
	pod := sts.Spec.Template.Spec
	if pod.ServiceAccountName != "vkube-team-a" || pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
		t.Errorf("pod: serviceAccountName %q automountServiceAccountToken %v", pod.ServiceAccountName, pod.AutomountServiceAccountToken)
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds != 30 {
		t.Errorf("terminationGracePeriodSeconds %v, want 30", pod.TerminationGracePeriodSeconds)
	}
	c := r.container(t)
	if c.Name != "vkube" || c.Image != "ghcr.io/vkube/vkube:0.1.0-k8s-v1.34.2" || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("container %q image %q pull %q", c.Name, c.Image, c.ImagePullPolicy)
	}
	wantArgs := strings.Fields("start --name team-a --data-dir /data --config /etc/vkube/vkube.yaml --host-namespace $(POD_NAMESPACE) --in-cluster --bind-address 0.0.0.0 --advertise-address $(POD_IP) --helper-image ghcr.io/vkube/vkube:0.1.0-k8s-v1.34.2 --port 8443 --health-address 0.0.0.0:8080 --dns-port 1053 --webhook-port 8444 --kubelet-port 10250 --log-format json --member-name $(POD_NAME) --peer team-a-0=team-a-0.team-a-headless.vkube-team-a.svc")
	if !slices.Equal(c.Args, wantArgs) || len(c.Command) != 0 {
		t.Errorf("command %q args %q, want args %q", c.Command, c.Args, wantArgs)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	for name, path := range map[string]string{"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace", "POD_IP": "status.podIP"} {
		if e := env[name]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != path {
			t.Errorf("env %s: %+v, want the downward API's %s", name, e, path)
		}
	}
	if env["TMPDIR"].Value != "/tmp" || env["HOME"].Value != "/tmp" || len(c.Env) != 5 {
		t.Errorf("env: %+v", c.Env)
	}
	wantPorts := []corev1.ContainerPort{
		{Name: "https", ContainerPort: 8443, Protocol: "TCP"}, {Name: "health", ContainerPort: 8080, Protocol: "TCP"},
		{Name: "dns", ContainerPort: 1053, Protocol: "UDP"}, {Name: "dns-tcp", ContainerPort: 1053, Protocol: "TCP"},
		{Name: "etcd-client", ContainerPort: 2379, Protocol: "TCP"}, {Name: "etcd-peer", ContainerPort: 2380, Protocol: "TCP"},
	}
	if !reflect.DeepEqual(c.Ports, wantPorts) {
		t.Errorf("ports %+v", c.Ports)
	}
	for _, p := range []struct {
		name             string
		probe            *corev1.Probe
		path             string
		period, failures int32
	}{{"startup", c.StartupProbe, "/healthz", 2, 90}, {"readiness", c.ReadinessProbe, "/readyz", 2, 2}, {"liveness", c.LivenessProbe, "/healthz", 10, 6}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: %+v, want an HTTP GET", p.name, p.probe)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromInt(8080) || p.probe.PeriodSeconds != p.period || p.probe.FailureThreshold != p.failures {
			t.Errorf("%s probe: GET %s port %s period %d failures %d; want GET %s port 8080 period %d failures %d", p.name,
				p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.probe.PeriodSeconds, p.probe.FailureThreshold, p.path, p.period, p.failures)
		}
	}
	wantResources := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{"cpu": resource.MustParse("200m"), "memory": resource.MustParse("256Mi")},
		Limits:   corev1.ResourceList{"memory": resource.MustParse("2Gi")},
	}
	if !equalResources(c.Resources, wantResources) {
		t.Errorf("resources %+v", c.Resources)
	}

	// Security: the defaults pass restricted.
	psc := pod.SecurityContext
	if psc == nil || !ptrIs(psc.RunAsNonRoot, true) || !ptrIs(psc.RunAsUser, int64(1000)) || !ptrIs(psc.RunAsGroup, int64(1000)) ||
		!ptrIs(psc.FSGroup, int64(1000)) || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %s", yamlDoc(psc))
	}
	csc := c.SecurityContext
	if csc == nil || !ptrIs(csc.AllowPrivilegeEscalation, false) || !ptrIs(csc.ReadOnlyRootFilesystem, true) || !ptrIs(csc.RunAsNonRoot, true) ||
		csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(csc.Capabilities.Add) != 0 {
		t.Errorf("container securityContext %s", yamlDoc(csc))
	}
	if v := restrictedViolations(t, sts); v != "" {
		t.Errorf("the default pod fails the restricted Pod Security Standard: %s", v)
	}

	// Volumes: the config Secret read-only, /tmp, and the data claim.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	if m := mounts["config"]; m.MountPath != "/etc/vkube" || !m.ReadOnly {
		t.Errorf("config mount %+v", m)
	}
	if mounts["tmp"].MountPath != "/tmp" || mounts["data"].MountPath != "/data" || len(c.VolumeMounts) != 3 {
		t.Errorf("mounts %+v", c.VolumeMounts)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	if v := vols["config"]; v.Secret == nil || v.Secret.SecretName != "vc-config-team-a" {
		t.Errorf("config volume %+v", v)
	}
	if v := vols["tmp"]; v.EmptyDir == nil {
		t.Errorf("tmp volume %+v", v)
	}
	claim, _ := r.dataVolume(t)
	if claim == nil {
		t.Fatal("no data claim by default (SQLite keeps its state there)")
	}
	if got := claim.Spec.Resources.Requests[corev1.ResourceStorage]; got.Cmp(resource.MustParse("5Gi")) != 0 ||
		!slices.Equal(claim.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{"ReadWriteOnce"}) || claim.Spec.StorageClassName != nil {
		t.Errorf("data claim %s", yamlDoc(claim.Spec))
	}
	if sts.Spec.PersistentVolumeClaimRetentionPolicy != nil {
		t.Errorf("retention policy %+v, want none by default", sts.Spec.PersistentVolumeClaimRetentionPolicy)
	}
	if sum := sts.Spec.Template.Annotations["checksum/config"]; len(sum) != 64 {
		t.Errorf("pod annotation checksum/config %q, want the config Secret's sha256", sum)
	}

	// Services.
	api := r.services["team-a"]
	if api == nil || api.Spec.Type != corev1.ServiceTypeClusterIP || len(api.Spec.Ports) != 1 ||
		api.Spec.Ports[0] != (corev1.ServicePort{Name: "https", Port: 443, TargetPort: intstr.FromInt(8443), Protocol: "TCP"}) {
		t.Errorf("API Service %s", yamlDoc(api))
	}
	hl := r.services["team-a-headless"]
	if hl == nil || hl.Spec.ClusterIP != "None" || !hl.Spec.PublishNotReadyAddresses ||
		!reflect.DeepEqual(portsOf(hl), []string{"https 8443/TCP→8443", "etcd-client 2379/TCP→2379", "etcd-peer 2380/TCP→2380"}) {
		t.Errorf("headless Service %s", yamlDoc(hl))
	}
	dns := r.services["team-a-dns"]
	if dns == nil || dns.Spec.Type != corev1.ServiceTypeClusterIP ||
		!reflect.DeepEqual(portsOf(dns), []string{"dns 53/UDP→1053", "dns-tcp 53/TCP→1053"}) {
		t.Errorf("DNS Service %s", yamlDoc(dns))
	}

	// RBAC: the namespace only.
	if sa := r.serviceAccount; sa.Name != "vkube-team-a" || !ptrIs(sa.AutomountServiceAccountToken, true) {
		t.Errorf("ServiceAccount %s", yamlDoc(sa))
	}
	checkRole(t, r)
	if r.clusterRole != nil || r.clusterRoleBinding != nil {
		t.Errorf("a ClusterRole by default: %s", yamlDoc(r.clusterRole))
	}

	// The config Secret holds the whole values, and they are exactly vkube's defaults.
	cfg, warnings := r.config(t)
	if len(warnings) > 0 {
		t.Errorf("the default config warns: %q", warnings)
	}
	cfg.Name = testName
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Errorf("the default config is invalid: %v", err)
	}
	checkAgainstRuntime(t, r)

	if !strings.Contains(r.notes, "vkube connect team-a -n vkube-team-a") {
		t.Errorf("NOTES.txt does not say how to connect:\n%s", r.notes)
	}
}

// checkCommon checks what every render must satisfy.
// isSourceRBAC tells whether object i is a Role or RoleBinding of mapServices.fromHost in one of
// its source namespaces.
func (r *rendered) isSourceRBAC(i int) bool {
	for _, role := range r.sourceRoles {
		if r.kinds[i] == "Role/"+role.Name && r.metas[i].Namespace == role.Namespace {
			return true
		}
	}
	for _, rb := range r.sourceRoleBindings {
		if r.kinds[i] == "RoleBinding/"+rb.Name && r.metas[i].Namespace == rb.Namespace {
			return true
		}
	}
	return false
}

func checkCommon(t *testing.T, r *rendered) {
	t.Helper()
	for i, m := range r.metas {
		for k, v := range map[string]string{"vkube.io/cluster": testName, "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "vkube-0.1.0"} {
			if m.Labels[k] != v {
				t.Errorf("%s: label %s=%q, want %q", r.kinds[i], k, m.Labels[k], v)
			}
		}
		cluster := strings.HasPrefix(r.kinds[i], "ClusterRole")
		if cluster != (m.Namespace == "") || (!cluster && m.Namespace != testNamespace && !r.isSourceRBAC(i)) {
			t.Errorf("%s in namespace %q", r.kinds[i], m.Namespace)
		}
	}
	sts := r.statefulSet
	if sts == nil || sts.Name != testName {
		t.Fatalf("no StatefulSet %s", testName)
	}
	selector := map[string]string{"app.kubernetes.io/name": "vkube", "app.kubernetes.io/instance": testName}
	if !reflect.DeepEqual(sts.Spec.Selector.MatchLabels, selector) {
		t.Errorf("StatefulSet selector %v", sts.Spec.Selector.MatchLabels)
	}
	podLabels := sts.Spec.Template.Labels
	for k, v := range selector {
		if podLabels[k] != v {
			t.Errorf("pod label %s=%q, want %q", k, podLabels[k], v)
		}
	}
	if podLabels["vkube.io/cluster"] != testName || podLabels[names.LabelControlPlane] != testName {
		t.Errorf("pod labels %v, want vkube.io/cluster and %s %s", podLabels, names.LabelControlPlane, testName)
	}
	// The Services select the control plane by a label no tenant pod can carry: a tenant pod with
	// the StatefulSet's selector labels is no endpoint of theirs.
	tenant := labels.Set{"app.kubernetes.io/name": "vkube", "app.kubernetes.io/instance": testName, "vkube.io/cluster": testName, "vkube.io/managed-by": testName}
	for _, name := range []string{testName, testName + "-headless", testName + "-dns"} {
		svc := r.services[name]
		if svc == nil {
			t.Errorf("no Service %s", name)
			continue
		}
		if svc.Spec.Selector[names.LabelControlPlane] != testName {
			t.Errorf("Service %s selects %v, want %s=%s among them", name, svc.Spec.Selector, names.LabelControlPlane, testName)
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		if !sel.Matches(labels.Set(podLabels)) || sel.Matches(tenant) {
			t.Errorf("Service %s selects %v: the control-plane pod %v, a tenant pod %v", name, svc.Spec.Selector, sel.Matches(labels.Set(podLabels)), sel.Matches(tenant))
		}
	}
	if r.secret == nil || r.secret.Name != "vc-config-"+testName {
		t.Errorf("no Secret vc-config-%s", testName)
	}
	// Kubernetes expands $(VAR) in args only for variables the container defines.
	c := r.container(t)
	for _, a := range c.Args {
		if strings.Contains(a, "$(") && !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return strings.Contains(a, "$("+e.Name+")") }) {
			t.Errorf("arg %q names an undefined variable", a)
		}
	}
}

// checkRole checks the namespaced Role: hostside.Access's rules for what vkube's config turns on
// (access_test.go checks every feature), nothing cluster-wide, bound to vkube's account.
func checkRole(t *testing.T, r *rendered) {
	t.Helper()
	role := r.role
	if role == nil || role.Name != "vkube-"+testName {
		t.Fatalf("no Role vkube-%s", testName)
	}
	cfg, _ := r.config(t)
	cfg.Name = testName
	cfg.SetDefaults()
	want, _ := hostside.Rules(hostside.Features(cfg))
	if !reflect.DeepEqual(role.Rules, want) {
		t.Errorf("Role rules:\n got %s\nwant %s", yamlDoc(role.Rules), yamlDoc(want))
	}
	for _, rule := range role.Rules {
		for _, v := range rule.Verbs {
			if v == "*" || v == "patch" || v == "deletecollection" {
				t.Errorf("Role rule %+v grants %s, which vkube never calls", rule, v)
			}
		}
	}
	rb := r.roleBinding
	wantSubject := rbacv1.Subject{Kind: "ServiceAccount", Name: "vkube-" + testName, Namespace: testNamespace}
	if rb == nil || rb.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "vkube-" + testName}) ||
		!reflect.DeepEqual(rb.Subjects, []rbacv1.Subject{wantSubject}) {
		t.Errorf("RoleBinding %s", yamlDoc(rb))
	}
}

// clusterRules returns the ClusterRole's group/resource → verbs, checking its binding; nil
// without a ClusterRole.
func clusterRules(t *testing.T, r *rendered) map[string][]string {
	t.Helper()
	if r.clusterRole == nil {
		if r.clusterRoleBinding != nil {
			t.Error("a ClusterRoleBinding without a ClusterRole")
		}
		return nil
	}
	name := "vkube-" + testNamespace + "-" + testName
	if r.clusterRole.Name != name {
		t.Errorf("ClusterRole %s, want %s", r.clusterRole.Name, name)
	}
	crb := r.clusterRoleBinding
	if crb == nil || crb.Name != name || crb.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name}) ||
		!reflect.DeepEqual(crb.Subjects, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "vkube-" + testName, Namespace: testNamespace}}) {
		t.Errorf("ClusterRoleBinding %s", yamlDoc(crb))
	}
	got := map[string][]string{}
	for _, rule := range r.clusterRole.Rules {
		for _, g := range rule.APIGroups {
			for _, res := range rule.Resources {
				got[g+"/"+res] = append(got[g+"/"+res], rule.Verbs...)
			}
		}
	}
	return got
}

// checkAgainstRuntime checks that the chart reads the values as vkube does: what the config
// Secret means to the runtime (encoding.Load, legacy conversion included, then the defaults) is
// what the chart deployed.
func checkAgainstRuntime(t *testing.T, r *rendered) {
	t.Helper()
	cfg, _ := r.config(t)
	cfg.Name = testName
	cfg.SetDefaults()
	if got := int(*r.statefulSet.Spec.Replicas); got != cfg.Replicas() {
		t.Errorf("the chart runs %d replicas, vkube's config says %d", got, cfg.Replicas())
	}
	claim, _ := r.dataVolume(t)
	if (claim != nil) != cfg.PersistenceEnabled() {
		t.Errorf("data claim %v, vkube's config says persistence %v", claim != nil, cfg.PersistenceEnabled())
	}
	if got := string(r.services[testName].Spec.Type); got != cfg.ControlPlane.Service.Type {
		t.Errorf("API Service type %s, vkube's config says %s", got, cfg.ControlPlane.Service.Type)
	}
	ing := cfg.ControlPlane.Ingress
	if (r.ingress != nil) != ing.Enabled || (r.ingress != nil && r.ingress.Spec.Rules[0].Host != ing.Host) {
		t.Errorf("Ingress %s, vkube's config says %+v", yamlDoc(r.ingress), ing)
	}
	if cfg.ControlPlane.StatefulSet.Image.Tag == "" {
		version := config.DefaultKubernetesVersion
		if d := cfg.DistroName(); d == config.DistroK8s || d == config.DistroEKS {
			version = cfg.KubernetesVersion()
		}
		if want := ":" + DefaultImageTag(version); !strings.HasSuffix(r.container(t).Image, want) {
			t.Errorf("image %s, want the tag %s for vkube's %s %s", r.container(t).Image, want, cfg.DistroName(), cfg.KubernetesVersion())
		}
	}
	rules := clusterRules(t, r)
	s := cfg.Sync
	for res, on := range map[string]bool{
		"/nodes":                            s.FromHost.Nodes.Enabled,
		"/persistentvolumes":                s.ToHost.PersistentVolumes.On(false),
		"storage.k8s.io/storageclasses":     s.ToHost.StorageClasses.On(false) || s.FromHost.StorageClasses.On(false),
		"scheduling.k8s.io/priorityclasses": s.ToHost.PriorityClasses.On(false),
	} {
		if _, granted := rules[res]; granted != on {
			t.Errorf("ClusterRole grants %s: %v, but vkube's config syncs it: %v", res, granted, on)
		}
	}
}

func portsOf(s *corev1.Service) []string {
	var out []string
	for _, p := range s.Spec.Ports {
		tp := p.TargetPort
		out = append(out, p.Name+" "+itoa(p.Port)+"/"+string(p.Protocol)+"→"+tp.String())
	}
	return out
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func ptrIs[T comparable](p *T, v T) bool { return p != nil && *p == v }

func equalResources(a, b corev1.ResourceRequirements) bool {
	eq := func(x, y corev1.ResourceList) bool {
		if len(x) != len(y) {
			return false
		}
		for k, q := range x {
			if q2, ok := y[k]; !ok || q.Cmp(q2) != 0 {
				return false
			}
		}
		return true
	}
	return eq(a.Requests, b.Requests) && eq(a.Limits, b.Limits)
}
