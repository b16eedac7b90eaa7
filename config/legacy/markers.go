package legacy

import "slices"

// legacyTopLevel are keys of the old vcluster charts (k3s, k0s, k8s, eks) that vkube.yaml lacks.
// One of them at the top of a document marks it as legacy values.
var legacyTopLevel = map[string]bool{
	"vcluster": true, "syncer": true, "api": true, "controller": true, "scheduler": true,
	"etcd": true, "coredns": true, "storage": true, "securityContext": true,
	"podSecurityContext": true, "fsGroup": true, "isolation": true, "mapServices": true,
	"enableHA": true, "ingress": true, "service": true, "volumeMounts": true, "volumes": true,
	"resources": true, "replicas": true, "serviceCIDR": true, "k3sToken": true, "job": true,
	"serviceAccount": true, "workloadServiceAccount": true, "rbac": true, "plugin": true,
	"plugins": true, "init": true, "multiNamespaceMode": true, "fallbackHostDns": true,
	"telemetry": true, "openshift": true, "monitoring": true, "defaultImageRegistry": true,
	"globalAnnotations": true, "headless": true, "pro": true, "proxy": true, "admission": true,
	"embeddedEtcd": true, "hostpathMapper": true, "nodeSelector": true, "affinity": true,
	"tolerations": true, "priorityClassName": true, "labels": true, "annotations": true,
	"podLabels": true, "podAnnotations": true, "podDisruptionBudget": true,
}

// legacySyncKeys are the children of the legacy `sync:` block (vkube.yaml has toHost/fromHost).
var legacySyncKeys = map[string]bool{
	"pods": true, "services": true, "endpoints": true, "configmaps": true, "secrets": true,
	"persistentvolumeclaims": true, "events": true, "ingresses": true, "ingressclasses": true,
	"fake-nodes": true, "fake-persistentvolumes": true, "nodes": true, "persistentvolumes": true,
	"storageclasses": true, "legacy-storageclasses": true, "hoststorageclasses": true,
	"priorityclasses": true, "networkpolicies": true, "volumesnapshots": true,
	"poddisruptionbudgets": true, "serviceaccounts": true, "csidrivers": true, "csinodes": true,
	"csistoragecapacities": true, "generic": true,
}

// Markers lists the keys that make a document legacy values, sorted: a key of the old charts at
// the top, or under sync (as sync.KEY).
func Markers(values map[string]any) []string {
	var found []string
	for k, v := range values {
		if legacyTopLevel[k] {
			found = append(found, k)
		}
		if sync, ok := v.(map[string]any); ok && k == "sync" {
			for sk := range sync {
				if legacySyncKeys[sk] {
					found = append(found, "sync."+sk)
				}
			}
		}
	}
	slices.Sort(found)
	return found
}

// IsTopLevelKey reports whether k is a top-level key of the old charts. Where vkube.yaml has a
// key of the same name, a legacy document means the old one.
func IsTopLevelKey(k string) bool { return legacyTopLevel[k] }
