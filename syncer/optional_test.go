package syncer

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"vkube.io/vkube/syncer/translate"
)

func mustObj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

var tctx = translate.Context{VCluster: "vc", HostNamespace: "host"}

func TestIngressTranslation(t *testing.T) {
	v := mustObj(t, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: team}
spec:
  tls: [{hosts: [a.example.com], secretName: web-tls}]
  defaultBackend: {service: {name: fallback, port: {number: 80}}}
  rules:
  - host: a.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`)
	h, _, err := ingresses{tctx: tctx}.toHost(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"spec.defaultBackend.service.name":            "fallback-x-team-x-vc",
		"spec.tls[0].secretName":                      "web-tls-x-team-x-vc",
		"spec.rules[0].http.paths[0].backend.service": "web-x-team-x-vc",
	} {
		var got string
		switch path {
		case "spec.defaultBackend.service.name":
			got, _, _ = unstructured.NestedString(h.Object, "spec", "defaultBackend", "service", "name")
		case "spec.tls[0].secretName":
			got = h.Object["spec"].(map[string]any)["tls"].([]any)[0].(map[string]any)["secretName"].(string)
		default:
			p := h.Object["spec"].(map[string]any)["rules"].([]any)[0].(map[string]any)["http"].(map[string]any)["paths"].([]any)[0].(map[string]any)
			got, _, _ = unstructured.NestedString(p, "backend", "service", "name")
		}
		if got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if h.GetName() != "web-x-team-x-vc" || h.GetNamespace() != "host" {
		t.Errorf("name %s/%s", h.GetNamespace(), h.GetName())
	}
}

func TestNetworkPolicyTranslation(t *testing.T) {
	v := mustObj(t, `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: team}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: web}}
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ops}}
    - ipBlock: {cidr: 10.0.0.0/8}
`)
	h, _, err := networkPolicies{tctx: tctx}.toHost(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	spec := h.Object["spec"].(map[string]any)
	sel, _, _ := unstructured.NestedStringMap(spec, "podSelector", "matchLabels")
	if sel["app"] != "db" || sel[translate.LabelNamespace] != "team" || sel[translate.LabelManagedBy] != "vc" {
		t.Errorf("podSelector %v", sel)
	}
	from := spec["ingress"].([]any)[0].(map[string]any)["from"].([]any)
	web, _, _ := unstructured.NestedStringMap(from[0].(map[string]any), "podSelector", "matchLabels")
	ops, _, _ := unstructured.NestedStringMap(from[1].(map[string]any), "podSelector", "matchLabels")
	if web[translate.LabelNamespace] != "team" || ops[translate.LabelNamespace] != "ops" {
		t.Errorf("peers %v %v", web, ops)
	}
	if _, ok := from[1].(map[string]any)["namespaceSelector"]; ok {
		t.Error("namespaceSelector kept: it would select host namespaces")
	}
	if _, ok := from[2].(map[string]any)["ipBlock"]; !ok {
		t.Error("ipBlock peer lost")
	}
}
