package isolation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"vkube.io/vkube/config"
	"vkube.io/vkube/names"
)

// isolated is what `--isolate` turns into: config.Policies with every isolation default.
func isolated() config.Policies {
	c := config.Default()
	c.Policies.Isolate()
	c.SetDefaults()
	return c.Policies
}

// The seeds' objects (000 and 004, the chart's templates), vcluster's labels replaced by vkube's.
const (
	seedQuota = `
metadata: {name: team-a-quota, namespace: vc-team-a, labels: {vkube.io/cluster: team-a}}
spec:
  hard:
    count/configmaps: "100"
    count/endpoints: "40"
    count/persistentvolumeclaims: "20"
    count/pods: "20"
    count/secrets: "100"
    count/services: "20"
    limits.cpu: "20"
    limits.ephemeral-storage: "160Gi"
    limits.memory: "40Gi"
    requests.cpu: "10"
    requests.ephemeral-storage: "60Gi"
    requests.memory: "20Gi"
    requests.storage: "100Gi"
    services.loadbalancers: "1"
    services.nodeports: "0"
`
	seedLimitRange = `
metadata: {name: team-a-limit-range, namespace: vc-team-a, labels: {vkube.io/cluster: team-a}}
spec:
  limits:
  - default:
      cpu: "1"
      ephemeral-storage: "8Gi"
      memory: "512Mi"
    defaultRequest:
      cpu: "100m"
      ephemeral-storage: "3Gi"
      memory: "128Mi"
    type: Container
`
	seedWorkloads = `
metadata: {name: team-a-workloads, namespace: vc-team-a, labels: {vkube.io/cluster: team-a}}
spec:
  podSelector:
    matchLabels:
      vkube.io/managed-by: team-a
  egress:
    # the control plane
    - ports:
        - {port: 443, protocol: TCP}
        - {port: 8443, protocol: TCP}
      to:
        - podSelector:
            matchLabels: {vkube.io/control-plane: team-a}
            matchExpressions: [{key: vkube.io/managed-by, operator: DoesNotExist}]
    # DNS
    - ports:
      - {port: 53, protocol: UDP}
      - {port: 53, protocol: TCP}
    # the internet, or other workloads of this virtual cluster
    - to:
        - podSelector:
            matchLabels:
              vkube.io/managed-by: team-a
        - ipBlock:
            cidr: 0.0.0.0/0
            except:
              - 100.64.0.0/10
              - 127.0.0.0/8
              - 10.0.0.0/8
              - 172.16.0.0/12
              - 192.168.0.0/16
  policyTypes:
    - Egress
`
	seedControlPlane = `
metadata: {name: team-a-control-plane, namespace: vc-team-a, labels: {vkube.io/cluster: team-a}}
spec:
  podSelector:
    matchLabels: {vkube.io/control-plane: team-a}
    matchExpressions: [{key: vkube.io/managed-by, operator: DoesNotExist}]
  egress:
    # the host's Kubernetes API
    - ports:
        - {port: 443, protocol: TCP}
        - {port: 8443, protocol: TCP}
        - {port: 6443, protocol: TCP}
    # the workloads, and the host's DNS
    - to:
        - podSelector: {}
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: 'kube-system'
          podSelector:
            matchLabels:
              k8s-app: kube-dns
  policyTypes:
    - Egress
`
)

func decode[T any](t *testing.T, doc string) *T {
	t.Helper()
	out := new(T)
	if err := yaml.UnmarshalStrict([]byte(doc), out); err != nil {
		t.Fatal(err)
	}
	return out
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !equality.Semantic.DeepEqual(got, want) {
		g, _ := yaml.Marshal(got)
		w, _ := yaml.Marshal(want)
		t.Errorf("%s differs from the seed's\ngot:\n%s\nwant:\n%s", what, g, w)
	}
}

func TestObjectsAreTheSeeds(t *testing.T) {
	p := isolated()
	rq, err := resourceQuota("vc-team-a", "team-a", p.ResourceQuota)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "ResourceQuota", rq, decode[corev1.ResourceQuota](t, seedQuota))
	lr, err := limitRange("vc-team-a", "team-a", p.LimitRange)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "LimitRange", lr, decode[corev1.LimitRange](t, seedLimitRange))
	same(t, "workloads NetworkPolicy", workloadsPolicy("vc-team-a", "team-a", p.NetworkPolicy.OutgoingConnections, nil),
		decode[networkingv1.NetworkPolicy](t, seedWorkloads))
	cp, err := controlPlanePolicy("vc-team-a", "team-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "control-plane NetworkPolicy", cp, decode[networkingv1.NetworkPolicy](t, seedControlPlane))
}

func TestControlPlaneEgress(t *testing.T) {
	cp, err := controlPlanePolicy("ns", "vc", []string{"10.1.2.3", "fd00::7", "192.168.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	last := cp.Spec.Egress[len(cp.Spec.Egress)-1]
	var got []string
	for _, p := range last.To {
		got = append(got, p.IPBlock.CIDR)
	}
	if strings.Join(got, " ") != "10.1.2.3/32 fd00::7/128 192.168.0.0/16" || len(last.Ports) != 0 {
		t.Errorf("datastore egress rule: %v ports %v", got, last.Ports)
	}
	if _, err := controlPlanePolicy("ns", "vc", []string{"db.example.com"}); err == nil || !strings.Contains(err.Error(), "db.example.com") {
		t.Errorf("a name in extraEgress: %v", err)
	}
}

func TestLimitRangeRequestDefaultsToLimit(t *testing.T) {
	lr, err := limitRange("ns", "vc", config.LimitRange{Enabled: true, Default: map[string]string{"cpu": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := lr.Spec.Limits[0].DefaultRequest[corev1.ResourceCPU]; got.String() != "2" {
		t.Errorf("defaultRequest cpu = %s, want the default limit 2 (what the apiserver would store)", got.String())
	}
	if _, err := resourceQuota("ns", "vc", config.ResourceQuota{Quota: map[string]string{"pods": "lots"}}); err == nil || !strings.Contains(err.Error(), "policies.resourceQuota.quota[pods]") {
		t.Errorf("bad quantity: %v", err)
	}
}

// The selector of the control plane must never select a synced workload, whatever virtual
// labels the tenant gave it: a workload selected by it would gain the control plane's egress.
// The chart's labels (app.kubernetes.io/name=vkube, instance) are a tenant's to set; only
// vkube.io/control-plane, which the syncer strips from tenants' labels, selects.
func TestControlPlaneSelectsNoWorkload(t *testing.T) {
	sel := controlPlaneSelector("vc")
	s, err := metav1.LabelSelectorAsSelector(&sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, workload := range []map[string]string{
		{"vkube.io/managed-by": "vc", LabelCluster: "vc", names.LabelControlPlane: "vc"},
		{"app.kubernetes.io/name": "vkube", "app.kubernetes.io/instance": "vc", LabelCluster: "vc"},
	} {
		if s.Matches(labels.Set(workload)) {
			t.Errorf("the control-plane selector selects %v", workload)
		}
	}
	if !s.Matches(labels.Set{names.LabelControlPlane: "vc", "app.kubernetes.io/name": "vkube"}) {
		t.Error("the control-plane selector does not select vkube's own pod")
	}
}

func TestObjectsFollowThePolicies(t *testing.T) {
	s, err := Objects("ns", "vc", config.Policies{}, nil, nil)
	if err != nil || s != (Set{}) {
		t.Errorf("no policies: %+v %v, want nothing", s, err)
	}
	p := isolated()
	p.LimitRange.Enabled = false
	s, err = Objects("ns", "vc", p, []string{"10.0.0.1"}, nil)
	if err != nil || s.ResourceQuota == nil || s.LimitRange != nil || s.ControlPlane == nil || s.Workloads == nil {
		t.Fatalf("quota and network policies: %+v %v", s, err)
	}
	if last := s.ControlPlane.Spec.Egress[len(s.ControlPlane.Spec.Egress)-1]; last.To[0].IPBlock == nil || last.To[0].IPBlock.CIDR != "10.0.0.1/32" {
		t.Errorf("extra egress: %+v", last)
	}
}

func TestInstallerEgress(t *testing.T) {
	c := config.Default()
	if e := InstallerEgress(c); e != nil {
		t.Errorf("embedded datastore: %v", e)
	}
	c.ControlPlane.BackingStore.Database.External.Enabled = true
	if e := InstallerEgress(c); strings.Join(e, " ") != "0.0.0.0/0 ::/0" {
		t.Errorf("external database: %v, want every address (the installer cannot resolve its name)", e)
	}
}

func TestInstallerPoliciesCountTheExposedAPIServicesNodePort(t *testing.T) {
	c := &config.Config{}
	c.Policies.Isolate()
	c.SetDefaults()
	if got := InstallerPolicies(c).ResourceQuota.Quota["services.nodeports"]; got != "0" {
		t.Fatalf("a ClusterIP API Service leaves services.nodeports as configured, got %s", got)
	}
	c.ControlPlane.Service.Type = "LoadBalancer"
	if got := InstallerPolicies(c).ResourceQuota.Quota["services.nodeports"]; got != "1" {
		t.Fatalf("an exposed API Service takes one node port of its own: services.nodeports %s, want 1", got)
	}
	if c.Policies.ResourceQuota.Quota["services.nodeports"] != "0" {
		t.Fatal("InstallerPolicies changed the config it was given")
	}
}
