package charts

import (
	"reflect"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"vkube.io/vkube/hostside"
)

// featureValues turns each feature of hostside.Access on, in vkube.yaml and, where the chart
// reads them, in legacy values.
var featureValues = map[hostside.Feature][]string{
	hostside.Always:               {""},
	hostside.HighAvailability:     {"controlPlane: {statefulSet: {highAvailability: {replicas: 3}}, backingStore: {etcd: {embedded: {enabled: true}}}}", "enableHA: true\napi: {replicas: 3}"},
	hostside.SyncIngresses:        {"sync: {toHost: {ingresses: {enabled: true}}}", "sync: {ingresses: {enabled: true}}"},
	hostside.SyncNetworkPolicies:  {"sync: {toHost: {networkPolicies: {enabled: true}}}", "sync: {networkpolicies: {enabled: true}}"},
	hostside.SyncPDBs:             {"sync: {toHost: {podDisruptionBudgets: {enabled: true}}}", "sync: {poddisruptionbudgets: {enabled: true}}"},
	hostside.SyncPriorityClasses:  {"sync: {toHost: {priorityClasses: {enabled: true}}}", "sync: {priorityclasses: {enabled: true}}"},
	hostside.SyncStorageClasses:   {"sync: {toHost: {storageClasses: {enabled: true}}}", "sync: {storageclasses: {enabled: true}}"},
	hostside.SyncPVs:              {"sync: {toHost: {persistentVolumes: {enabled: true}}}", "sync: {persistentvolumes: {enabled: true}}"},
	hostside.RealNodes:            {"sync: {fromHost: {nodes: {enabled: true}}}", "sync: {nodes: {enabled: true}}"},
	hostside.HostStorageClasses:   {"sync: {fromHost: {storageClasses: {enabled: true}}}", "sync: {hoststorageclasses: {enabled: true}}"},
	hostside.IsolationQuota:       {"policies: {resourceQuota: {enabled: true}}", "isolation: {enabled: true, limitRange: {enabled: false}, networkPolicy: {enabled: false}}"},
	hostside.IsolationLimitRange:  {"policies: {limitRange: {enabled: true}}", "isolation: {enabled: true, resourceQuota: {enabled: false}, networkPolicy: {enabled: false}}"},
	hostside.IsolationNetworkPols: {"policies: {networkPolicy: {enabled: true}}", "isolation: {enabled: true, resourceQuota: {enabled: false}, limitRange: {enabled: false}}"},
}

// allFeatures turns every feature on at once.
const allFeatures = `
controlPlane: {statefulSet: {highAvailability: {replicas: 3}}, backingStore: {etcd: {embedded: {enabled: true}}}}
policies: {resourceQuota: {enabled: true}, limitRange: {enabled: true}, networkPolicy: {enabled: true}}
sync:
  toHost:
    ingresses: {enabled: true}
    networkPolicies: {enabled: true}
    podDisruptionBudgets: {enabled: true}
    priorityClasses: {enabled: true}
    storageClasses: {enabled: true}
    persistentVolumes: {enabled: true}
  fromHost:
    nodes: {enabled: true}
    storageClasses: {enabled: true}
`

// The chart's Role and ClusterRole are hostside.Access for the features vkube's config turns on:
// each feature alone (in vkube.yaml and in legacy values), all of them together, and the
// defaults. A host call added to the table without its template rule, or the reverse, fails here.
func TestAccessIsTheTable(t *testing.T) {
	for _, a := range hostside.Access {
		if _, ok := featureValues[a.Feature]; !ok {
			t.Errorf("feature %q of hostside.Access has no values here that turn it on", a.Feature)
		}
		if a.Why == "" {
			t.Errorf("rule %v names no caller", a.Resources)
		}
	}
	for f, vals := range featureValues {
		for i, v := range vals {
			t.Run(string(f)+[]string{"", " (legacy)"}[i], func(t *testing.T) {
				r := mustRender(t, testName, testNamespace, valuesYAML(t, v))
				for g, on := range checkAccess(t, r) {
					if on != (g == f || g == hostside.Always) {
						t.Errorf("values %q: feature %q on=%v", v, g, on)
					}
				}
			})
		}
	}
	t.Run("all", func(t *testing.T) {
		r := mustRender(t, testName, testNamespace, valuesYAML(t, allFeatures))
		for f, on := range checkAccess(t, r) {
			if !on {
				t.Errorf("feature %q off with every feature's values", f)
			}
		}
	})
}

// checkAccess compares the rendered rules with the table and returns the features.
func checkAccess(t *testing.T, r *rendered) map[hostside.Feature]bool {
	t.Helper()
	cfg, _ := r.config(t)
	cfg.Name = testName
	cfg.SetDefaults()
	features := hostside.Features(cfg)
	namespaced, cluster := hostside.Rules(features)
	if !reflect.DeepEqual(r.role.Rules, namespaced) {
		t.Errorf("Role rules:\n%s\nhostside.Access:\n%s", yamlDoc(r.role.Rules), yamlDoc(namespaced))
	}
	var got []rbacv1.PolicyRule
	if r.clusterRole != nil {
		got = r.clusterRole.Rules
	}
	if !reflect.DeepEqual(got, cluster) {
		t.Errorf("ClusterRole rules:\n%s\nhostside.Access:\n%s", yamlDoc(got), yamlDoc(cluster))
	}
	clusterRules(t, r) // checks the binding
	return features
}

// TestSourceNamespaceAccess: a mapServices.fromHost mapping out of another namespace gets a Role
// there with exactly hostside.SourceRules (list and watch of the mapped Services by name), bound
// to vkube's ServiceAccount (in vkube.yaml and legacy values); a mapping out of the release's own
// namespace needs none.
func TestSourceNamespaceAccess(t *testing.T) {
	for _, tc := range []struct{ values string }{
		{"networking: {replicateServices: {fromHost: [{from: cert-manager/webhook, to: kube-system/webhook}, {from: cert-manager/other, to: default/other}, {from: " + testNamespace + "/own, to: default/own}]}}"},
		{"mapServices: {fromHost: [{from: cert-manager/webhook, to: kube-system/webhook}]}"},
	} {
		r := mustRender(t, testName, testNamespace, valuesYAML(t, tc.values))
		cfg, _ := r.config(t)
		want := hostside.SourceNamespaces(cfg, testNamespace)
		if len(want) != 1 || want[0].Namespace != "cert-manager" {
			t.Fatalf("%s: source namespaces %v", tc.values, want)
		}
		if len(r.sourceRoles) != 1 || len(r.sourceRoleBindings) != 1 {
			t.Fatalf("%s: %d Roles and %d RoleBindings outside %s, want one of each", tc.values, len(r.sourceRoles), len(r.sourceRoleBindings), testNamespace)
		}
		role, rb := r.sourceRoles[0], r.sourceRoleBindings[0]
		rules := hostside.SourceRules(want[0])
		if role.Namespace != "cert-manager" || !reflect.DeepEqual(role.Rules, rules) {
			t.Errorf("%s: Role %s/%s rules\n%s\nwant\n%s", tc.values, role.Namespace, role.Name, yamlDoc(role.Rules), yamlDoc(rules))
		}
		if rb.Namespace != "cert-manager" || rb.RoleRef.Name != role.Name || len(rb.Subjects) != 1 ||
			rb.Subjects[0].Name != r.serviceAccount.Name || rb.Subjects[0].Namespace != testNamespace {
			t.Errorf("%s: RoleBinding %+v", tc.values, rb)
		}
	}
	if r := mustRender(t, testName, testNamespace, nil); len(r.sourceRoles) != 0 {
		t.Errorf("Roles outside the release namespace without any mapping: %v", r.sourceRoles)
	}
}
