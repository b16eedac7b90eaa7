package charts

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestPersistenceOff(t *testing.T) {
	r := mustRender(t, testName, testNamespace, valuesYAML(t, `
controlPlane:
  statefulSet:
    persistence:
      volumeClaim:
        enabled: false
        retentionPolicy: Delete
`))
	checkCommon(t, r)
	if _, vol := r.dataVolume(t); vol == nil || vol.EmptyDir == nil {
		t.Errorf("data volume %s, want an emptyDir", yamlDoc(vol))
	}
	if r.statefulSet.Spec.PersistentVolumeClaimRetentionPolicy != nil {
		t.Error("a claim retention policy without claims")
	}
	checkAgainstRuntime(t, r)
}

func TestPersistenceSettings(t *testing.T) {
	r := mustRender(t, testName, testNamespace, valuesYAML(t, `
controlPlane:
  statefulSet:
    persistence:
      volumeClaim:
        size: 20Gi
        storageClass: fast
        accessModes: [ReadWriteOncePod]
        retentionPolicy: Delete
`))
	claim, _ := r.dataVolume(t)
	if claim == nil {
		t.Fatal("no data claim")
	}
	if got := claim.Spec.Resources.Requests[corev1.ResourceStorage]; got.Cmp(resource.MustParse("20Gi")) != 0 ||
		!ptrIs(claim.Spec.StorageClassName, "fast") || !slices.Equal(claim.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{"ReadWriteOncePod"}) {
		t.Errorf("data claim %s", yamlDoc(claim.Spec))
	}
	p := r.statefulSet.Spec.PersistentVolumeClaimRetentionPolicy
	if p == nil || p.WhenDeleted != "Delete" || p.WhenScaled != "Retain" {
		t.Errorf("retention policy %+v, want whenDeleted Delete (and claims kept on scale-down, for pause)", p)
	}
	if _, err := renderChart(t, testName, testNamespace, valuesYAML(t, "controlPlane: {statefulSet: {persistence: {volumeClaim: {retentionPolicy: Keep}}}}")); err == nil ||
		!strings.Contains(err.Error(), "retentionPolicy") {
		t.Errorf("retentionPolicy Keep: %v, want an error naming the key", err)
	}
}

func TestExposeLoadBalancer(t *testing.T) {
	r := mustRender(t, testName, testNamespace, valuesYAML(t, `
controlPlane:
  service:
    type: LoadBalancer
    annotations:
      service.beta.kubernetes.io/aws-load-balancer-type: nlb
    labels:
      team: a
`))
	checkCommon(t, r)
	api := r.services[testName]
	if api.Spec.Type != corev1.ServiceTypeLoadBalancer || api.Annotations["service.beta.kubernetes.io/aws-load-balancer-type"] != "nlb" ||
		api.Labels["team"] != "a" || api.Labels["vkube.io/cluster"] != testName || api.Spec.Ports[0].NodePort != 0 {
		t.Errorf("API Service %s", yamlDoc(api))
	}
	if hl := r.services[testName+"-headless"]; hl.Spec.ClusterIP != "None" {
		t.Error("the headless Service changed with the API's type")
	}
	if !strings.Contains(r.notes, "LoadBalancer") {
		t.Errorf("NOTES.txt does not mention the LoadBalancer:\n%s", r.notes)
	}
	checkAgainstRuntime(t, r)
}

func TestExposeNodePort(t *testing.T) {
	r := mustRender(t, testName, testNamespace, valuesYAML(t, `
controlPlane:
  service:
    type: NodePort
    nodePort: 30443
`))
	api := r.services[testName]
	if api.Spec.Type != corev1.ServiceTypeNodePort || api.Spec.Ports[0].NodePort != 30443 || api.Spec.Ports[0].Port != 443 {
		t.Errorf("API Service %s", yamlDoc(api))
	}
	checkAgainstRuntime(t, r)
	if _, err := renderChart(t, testName, testNamespace, valuesYAML(t, "controlPlane: {service: {type: External}}")); err == nil ||
		!strings.Contains(err.Error(), "controlPlane.service.type") {
		t.Errorf("service type External: %v, want an error naming the key", err)
	}
}

func TestIngress(t *testing.T) {
	r := mustRender(t, testName, testNamespace, valuesYAML(t, `
controlPlane:
  ingress:
    enabled: true
    host: team-a.vkube.example.com
    ingressClassName: nginx
`))
	checkCommon(t, r)
	ing := r.ingress
	if ing == nil || ing.Name != testName {
		t.Fatalf("no Ingress %s", testName)
	}
	if !ptrIs(ing.Spec.IngressClassName, "nginx") || len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "team-a.vkube.example.com" {
		t.Errorf("Ingress %s", yamlDoc(ing.Spec))
	}
	paths := ing.Spec.Rules[0].HTTP.Paths
	if len(paths) != 1 || paths[0].Backend.Service == nil || paths[0].Backend.Service.Name != testName || paths[0].Backend.Service.Port.Number != 443 {
		t.Errorf("Ingress backend %s", yamlDoc(paths))
	}
	want := map[string]string{
		"nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
		"nginx.ingress.kubernetes.io/ssl-passthrough":  "true",
		"nginx.ingress.kubernetes.io/ssl-redirect":     "true",
	}
	if !reflect.DeepEqual(ing.Annotations, want) {
		t.Errorf("Ingress annotations %v, want %v", ing.Annotations, want)
	}
	if !strings.Contains(r.notes, "https://team-a.vkube.example.com") {
		t.Errorf("NOTES.txt does not give the ingress address:\n%s", r.notes)
	}
	checkAgainstRuntime(t, r)

	if _, err := renderChart(t, testName, testNamespace, valuesYAML(t, "controlPlane: {ingress: {enabled: true}}")); err == nil ||
		!strings.Contains(err.Error(), "controlPlane.ingress.host") {
		t.Errorf("ingress without a host: %v, want an error naming controlPlane.ingress.host", err)
	}
}

// An external database keeps the state: no claim (persistence "auto"), and the DSN only in the
// config Secret.
func TestExternalPostgres(t *testing.T) {
	const dsn = "postgres://vkube:s3cret-pw@db.example.com:5432/team_a?sslmode=require"
	r := mustRender(t, testName, testNamespace, valuesYAML(t, `
controlPlane:
  backingStore:
    database:
      external:
        enabled: true
        dataSource: "`+dsn+`"
`))
	checkCommon(t, r)
	if _, vol := r.dataVolume(t); vol == nil || vol.EmptyDir == nil {
		t.Errorf("data volume %s, want an emptyDir with an external database", yamlDoc(vol))
	}
	cfg, _ := r.config(t)
	if got := cfg.ControlPlane.BackingStore.Database.External.DataSource; got != dsn {
		t.Errorf("the config Secret's DSN is %q", got)
	}
	for i, doc := range r.docs {
		if strings.Contains(string(doc), "s3cret-pw") {
			t.Errorf("%s carries the database password in clear", r.kinds[i])
		}
	}
	checkAgainstRuntime(t, r)
}

func TestHighAvailability(t *testing.T) {
	r := mustRender(t, testName, testNamespace, valuesYAML(t, `
controlPlane:
  backingStore:
    etcd:
      embedded:
        enabled: true
  statefulSet:
    highAvailability:
      replicas: 3
`))
	checkCommon(t, r)
	if got := *r.statefulSet.Spec.Replicas; got != 3 {
		t.Errorf("replicas %d, want 3", got)
	}
	if claim, _ := r.dataVolume(t); claim == nil {
		t.Error("no data claim for the embedded etcd members")
	}
	cfg, _ := r.config(t)
	cfg.Name = testName
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Errorf("HA config: %v", err)
	}
	checkAgainstRuntime(t, r)
}

func TestExtraVolumesAndEnv(t *testing.T) {
	r := mustRender(t, testName, testNamespace, valuesYAML(t, `
controlPlane:
  distro:
    k8s:
      apiServer:
        extraArgs: [--audit-policy-file=/etc/audit/policy.yaml]
  statefulSet:
    env:
      - name: GODEBUG
        value: x509negativeserial=1
    extraVolumes:
      - name: audit
        configMap:
          name: audit-policy
    extraVolumeMounts:
      - name: audit
        mountPath: /etc/audit
        readOnly: true
`))
	checkCommon(t, r)
	c := r.container(t)
	last := c.VolumeMounts[len(c.VolumeMounts)-1]
	if !reflect.DeepEqual(last, corev1.VolumeMount{Name: "audit", MountPath: "/etc/audit", ReadOnly: true}) || len(c.VolumeMounts) != 4 {
		t.Errorf("mounts %+v, want the audit mount after vkube's", c.VolumeMounts)
	}
	vols := r.statefulSet.Spec.Template.Spec.Volumes
	if v := vols[len(vols)-1]; v.Name != "audit" || v.ConfigMap == nil || v.ConfigMap.Name != "audit-policy" {
		t.Errorf("volumes %s", yamlDoc(vols))
	}
	if e := c.Env[len(c.Env)-1]; e.Name != "GODEBUG" || e.Value != "x509negativeserial=1" {
		t.Errorf("env %+v", c.Env)
	}
	if v := restrictedViolations(t, r.statefulSet); v != "" {
		t.Errorf("restricted: %s", v)
	}
}

func TestRealNodes(t *testing.T) {
	r := mustRender(t, testName, testNamespace, valuesYAML(t, `
sync:
  fromHost:
    nodes:
      enabled: true
      selector:
        node-role.example.com/tenant: team-a
`))
	checkCommon(t, r)
	rules := clusterRules(t, r)
	if !reflect.DeepEqual(rules, map[string][]string{"/nodes": {"list", "watch"}}) {
		t.Errorf("ClusterRole rules %v, want nodes list/watch (the syncer's informer)", rules)
	}
	checkRole(t, r)
	checkAgainstRuntime(t, r)
}

func TestClusterScopedSync(t *testing.T) {
	r := mustRender(t, testName, testNamespace, valuesYAML(t, `
sync:
  toHost:
    persistentVolumes: {enabled: true}
    priorityClasses: {enabled: true}
  fromHost:
    storageClasses: {enabled: true}
`))
	rules := clusterRules(t, r)
	write := []string{"get", "list", "watch", "create", "update", "delete"}
	want := map[string][]string{
		"/persistentvolumes":                write,
		"scheduling.k8s.io/priorityclasses": write,
		"storage.k8s.io/storageclasses":     {"list", "watch"},
	}
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("ClusterRole rules %v, want %v", rules, want)
	}
	checkAgainstRuntime(t, r)
}

// The vkube.yaml security contexts override the defaults key by key.
func TestSecurityOverride(t *testing.T) {
	r := mustRender(t, testName, testNamespace, valuesYAML(t, `
controlPlane:
  statefulSet:
    security:
      podSecurityContext:
        runAsUser: 2000
        fsGroup: 2000
      containerSecurityContext:
        readOnlyRootFilesystem: false
`))
	psc := r.statefulSet.Spec.Template.Spec.SecurityContext
	if !ptrIs(psc.RunAsUser, int64(2000)) || !ptrIs(psc.FSGroup, int64(2000)) || !ptrIs(psc.RunAsGroup, int64(1000)) || psc.SeccompProfile == nil {
		t.Errorf("pod securityContext %s", yamlDoc(psc))
	}
	csc := r.container(t).SecurityContext
	if !ptrIs(csc.ReadOnlyRootFilesystem, false) || !ptrIs(csc.AllowPrivilegeEscalation, false) || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container securityContext %s", yamlDoc(csc))
	}
}

func TestImage(t *testing.T) {
	for _, tc := range []struct{ values, want string }{
		{"controlPlane: {distro: {k8s: {version: v1.35.4}}}", "ghcr.io/vkube/vkube:0.1.0-k8s-v1.35.4"},
		{"controlPlane: {distro: {eks: {enabled: true, version: v1.33.1}}}", "ghcr.io/vkube/vkube:0.1.0-k8s-v1.33.1"},
		{"controlPlane: {statefulSet: {image: {registry: registry.example.com/, repository: mirror/vkube, tag: dev}}}", "registry.example.com/mirror/vkube:dev"},
	} {
		r := mustRender(t, testName, testNamespace, valuesYAML(t, tc.values))
		if got := r.container(t).Image; got != tc.want {
			t.Errorf("%s: image %s, want %s", tc.values, got, tc.want)
		}
		checkAgainstRuntime(t, r)
	}
}

// Legacy values that the seeds do not show, read as config/legacy*.go reads them.
func TestLegacyValues(t *testing.T) {
	r := mustRender(t, testName, testNamespace, valuesYAML(t, `
service:
  type: LoadBalancer
ingress:
  enabled: true
  host: legacy.example.com
api:
  image: registry.k8s.io/kube-apiserver:v1.33.5
  replicas: 3
controller:
  replicas: 3
storage:
  persistence: false
nodeSelector:
  disktype: ssd
`))
	checkCommon(t, r)
	if got := r.services[testName].Spec.Type; got != corev1.ServiceTypeLoadBalancer {
		t.Errorf("API Service type %s", got)
	}
	if r.ingress == nil || r.ingress.Spec.Rules[0].Host != "legacy.example.com" {
		t.Errorf("Ingress %s", yamlDoc(r.ingress))
	}
	if got := *r.statefulSet.Spec.Replicas; got != 3 {
		t.Errorf("replicas %d", got)
	}
	if got := r.container(t).Image; got != "ghcr.io/vkube/vkube:0.1.0-k8s-v1.33.5" {
		t.Errorf("image %s: the legacy apiserver image names the version", got)
	}
	if got := r.statefulSet.Spec.Template.Spec.NodeSelector; got["disktype"] != "ssd" {
		t.Errorf("nodeSelector %v", got)
	}
	checkAgainstRuntime(t, r)

	// Legacy security contexts: fsGroup to the pod, the rest to the container, capabilities
	// left at vkube's drop ALL.
	r = mustRender(t, testName, testNamespace, valuesYAML(t, `
fsGroup: 2000
securityContext:
  runAsUser: 3000
  capabilities:
    add: [CAP_NET_BIND_SERVICE, NET_ADMIN]
    drop: [all]
`))
	if psc := r.statefulSet.Spec.Template.Spec.SecurityContext; !ptrIs(psc.FSGroup, int64(2000)) {
		t.Errorf("pod securityContext %s, want the legacy fsGroup", yamlDoc(psc))
	}
	if csc := r.container(t).SecurityContext; !ptrIs(csc.RunAsUser, int64(3000)) || len(csc.Capabilities.Add) > 0 ||
		!slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container securityContext %s", yamlDoc(csc))
	}
	if v := restrictedViolations(t, r.statefulSet); v != "" {
		t.Errorf("restricted: %s", v)
	}

	// A vkube.yaml key wins over its legacy counterpart, as in the runtime.
	r = mustRender(t, testName, testNamespace, valuesYAML(t, `
storage:
  persistence: false
  size: 1Gi
controlPlane:
  statefulSet:
    persistence:
      volumeClaim:
        enabled: true
        size: 8Gi
`))
	claim, _ := r.dataVolume(t)
	if claim == nil || claim.Spec.Resources.Requests.Storage().Cmp(resource.MustParse("8Gi")) != 0 {
		t.Errorf("data claim %s, want the vkube.yaml one", yamlDoc(claim))
	}
	checkAgainstRuntime(t, r)
}

func TestNameTooLong(t *testing.T) {
	name := strings.Repeat("a", 53)
	if _, err := renderChart(t, name, testNamespace, nil); err == nil || !strings.Contains(err.Error(), "at most 52 characters") {
		t.Errorf("a 53-character name: %v, want an error about its length", err)
	}
	if _, err := renderChart(t, strings.Repeat("a", 52), testNamespace, nil); err != nil {
		t.Errorf("a 52-character name: %v", err)
	}
}
