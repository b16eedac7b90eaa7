package charts

import (
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vkube.io/vkube/isolation"
)

// The chart renders the isolation objects itself (vkube's pod only reads them), and they are
// isolation.Objects of what vkube makes of the same values: one truth, whichever writes them.
func TestIsolationObjectsAreIsolations(t *testing.T) {
	cases := map[string]map[string]any{
		"defaults": nil,
		"all on":   valuesYAML(t, "policies: {resourceQuota: {enabled: true}, limitRange: {enabled: true}, networkPolicy: {enabled: true}}"),
		"chosen": valuesYAML(t, `
policies:
  resourceQuota: {enabled: true, quota: {count/pods: 5, requests.cpu: 500m}}
  limitRange: {enabled: true, default: {cpu: "2", memory: 1Gi}, defaultRequest: {cpu: 250m}}
  networkPolicy: {enabled: true, outgoingConnections: {cidr: 10.0.0.0/8, except: [10.96.0.0/12]}}
`),
		"external datastore": valuesYAML(t, `
policies: {networkPolicy: {enabled: true}}
controlPlane: {backingStore: {database: {external: {enabled: true, dataSource: "postgres://u:p@db.example.com:5432/vk"}}}}
`),
		"legacy": valuesYAML(t, `
isolation:
  enabled: true
  limitRange: {enabled: false}
  resourceQuota: {quota: {count/pods: 7}}
  networkPolicy:
    outgoingConnections: {ipBlock: {cidr: 0.0.0.0/0, except: [169.254.0.0/16]}}
`),
		"legacy off": valuesYAML(t, "isolation: {enabled: false, resourceQuota: {enabled: true}}"),
		// seed 000's --isolate --expose: the API Service's node port is counted on top of the quota.
		"exposed": valuesYAML(t, "policies: {resourceQuota: {enabled: true}}\ncontrolPlane: {service: {type: LoadBalancer}}"),
		"vkube.yaml over legacy": valuesYAML(t, `
isolation: {enabled: true, resourceQuota: {quota: {count/pods: 7, count/secrets: 9}}}
policies: {networkPolicy: {enabled: false}, resourceQuota: {quota: {count/pods: 3}}}
`),
	}
	for _, f := range seedFiles(t) {
		cases["seed "+strings.TrimSuffix(filepath.Base(f), ".yaml")] = valuesFiles(t, f)
	}
	for name, vals := range cases {
		t.Run(name, func(t *testing.T) {
			r := mustRender(t, testName, testNamespace, vals)
			checkCommon(t, r)
			checkIsolation(t, r)
		})
	}
}

func checkIsolation(t *testing.T, r *rendered) {
	t.Helper()
	cfg, _ := r.config(t)
	cfg.Name = testName
	cfg.SetDefaults()
	want, err := isolation.Objects(testNamespace, testName, isolation.InstallerPolicies(cfg), isolation.InstallerEgress(cfg), nil)
	if err != nil {
		t.Fatalf("isolation.Objects: %v", err)
	}
	same := func(kind string, wantMeta, gotMeta *metav1.ObjectMeta, wantSpec, gotSpec any) {
		t.Helper()
		if gotMeta.Name != wantMeta.Name || gotMeta.Namespace != wantMeta.Namespace {
			t.Errorf("%s %s/%s, want %s/%s", kind, gotMeta.Namespace, gotMeta.Name, wantMeta.Namespace, wantMeta.Name)
		}
		for k, v := range wantMeta.Labels {
			if gotMeta.Labels[k] != v {
				t.Errorf("%s %s: label %s=%q, want %q", kind, gotMeta.Name, k, gotMeta.Labels[k], v)
			}
		}
		if !equality.Semantic.DeepEqual(wantSpec, gotSpec) {
			t.Errorf("%s %s differs from isolation.Objects:\nrendered:\n%s\nisolation:\n%s", kind, gotMeta.Name, yamlDoc(gotSpec), yamlDoc(wantSpec))
		}
	}
	switch {
	case want.ResourceQuota == nil && r.resourceQuota == nil:
	case want.ResourceQuota == nil || r.resourceQuota == nil:
		t.Errorf("ResourceQuota rendered %v, vkube's policies want it %v", r.resourceQuota != nil, want.ResourceQuota != nil)
	default:
		same("ResourceQuota", &want.ResourceQuota.ObjectMeta, &r.resourceQuota.ObjectMeta, want.ResourceQuota.Spec, r.resourceQuota.Spec)
	}
	switch {
	case want.LimitRange == nil && r.limitRange == nil:
	case want.LimitRange == nil || r.limitRange == nil:
		t.Errorf("LimitRange rendered %v, vkube's policies want it %v", r.limitRange != nil, want.LimitRange != nil)
	default:
		same("LimitRange", &want.LimitRange.ObjectMeta, &r.limitRange.ObjectMeta, want.LimitRange.Spec, r.limitRange.Spec)
	}
	if want.ControlPlane == nil && len(r.networkPolicies) > 0 {
		t.Errorf("NetworkPolicies rendered with the policy off: %v", keys(r.networkPolicies))
	}
	if want.ControlPlane != nil {
		cp, wl := r.networkPolicies[want.ControlPlane.Name], r.networkPolicies[want.Workloads.Name]
		if cp == nil || wl == nil || len(r.networkPolicies) != 2 {
			t.Fatalf("NetworkPolicies %v, want %s and %s", keys(r.networkPolicies), want.ControlPlane.Name, want.Workloads.Name)
		}
		same("NetworkPolicy", &want.ControlPlane.ObjectMeta, &cp.ObjectMeta, want.ControlPlane.Spec, cp.Spec)
		same("NetworkPolicy", &want.Workloads.ObjectMeta, &wl.ObjectMeta, want.Workloads.Spec, wl.Spec)
	}
}
