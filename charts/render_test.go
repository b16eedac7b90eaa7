package charts

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/getter"
	release "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"

	"vkube.io/vkube/config"
	"vkube.io/vkube/config/encoding"
)

// rendered is one render of the chart, decoded into typed objects.
type rendered struct {
	manifest string
	notes    string
	// docs are the manifest's documents, in order.
	docs [][]byte
	// kinds lists each object as Kind/name.
	kinds []string

	statefulSet    *appsv1.StatefulSet
	services       map[string]*corev1.Service
	secret         *corev1.Secret
	serviceAccount *corev1.ServiceAccount
	role           *rbacv1.Role
	roleBinding    *rbacv1.RoleBinding
	// sourceRoles and their bindings are in other namespaces: mapServices.fromHost's sources.
	sourceRoles        []*rbacv1.Role
	sourceRoleBindings []*rbacv1.RoleBinding
	releaseNamespace   string
	clusterRole        *rbacv1.ClusterRole
	clusterRoleBinding *rbacv1.ClusterRoleBinding
	ingress            *networkingv1.Ingress
	// The isolation objects, when rendered.
	resourceQuota   *corev1.ResourceQuota
	limitRange      *corev1.LimitRange
	networkPolicies map[string]*networkingv1.NetworkPolicy
	// metas holds every object's metadata, for checks that apply to all of them.
	metas []metav1.ObjectMeta
}

// valuesFiles reads values files exactly as `helm -f` does.
func valuesFiles(t *testing.T, paths ...string) map[string]any {
	t.Helper()
	opts := values.Options{ValueFiles: paths}
	v, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		t.Fatalf("reading %v: %v", paths, err)
	}
	return v
}

// valuesYAML parses inline values the way helm reads a values file.
func valuesYAML(t *testing.T, doc string) map[string]any {
	t.Helper()
	path := filepath.Join(t.TempDir(), "values.yaml")
	writeFile(t, path, doc)
	return valuesFiles(t, path)
}

// renderChart renders the embedded chart with the Helm SDK like `vkube create` installs it,
// client-side only.
func renderChart(t *testing.T, name, namespace string, vals map[string]any) (*rendered, error) {
	t.Helper()
	ch, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = name
	install.Namespace = namespace
	install.Replace = true
	rel, err := install.Run(ch, vals)
	if err != nil {
		return nil, err
	}
	r, ok := rel.(*release.Release)
	if !ok {
		t.Fatalf("release is a %T", rel)
	}
	return decode(t, r.Manifest, r.Info.Notes, namespace), nil
}

func mustRender(t *testing.T, name, namespace string, vals map[string]any) *rendered {
	t.Helper()
	r, err := renderChart(t, name, namespace, vals)
	if err != nil {
		t.Fatalf("rendering the chart: %v", err)
	}
	return r
}

// splitManifest returns the non-empty YAML documents of a multi-document manifest.
func splitManifest(manifest string) [][]byte {
	var docs [][]byte
	for _, d := range strings.Split("\n"+manifest, "\n---") {
		var body []string
		for _, line := range strings.Split(d, "\n") {
			if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
				continue
			}
			body = append(body, line)
		}
		if len(body) > 0 {
			docs = append(docs, []byte(strings.Join(body, "\n")+"\n"))
		}
	}
	return docs
}

// decode turns a manifest into typed objects. Decoding is strict: a misspelled field in a
// template is an error here rather than a field the API server silently drops.
func decode(t *testing.T, manifest, notes, namespace string) *rendered {
	t.Helper()
	r := &rendered{manifest: manifest, notes: notes, releaseNamespace: namespace, services: map[string]*corev1.Service{}, networkPolicies: map[string]*networkingv1.NetworkPolicy{}}
	for _, doc := range splitManifest(manifest) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		var obj any
		switch tm.Kind {
		case "StatefulSet":
			if r.statefulSet != nil {
				t.Fatalf("two StatefulSets")
			}
			r.statefulSet = &appsv1.StatefulSet{}
			obj = r.statefulSet
		case "Service":
			s := &corev1.Service{}
			obj = s
			defer func() { r.services[s.Name] = s }()
		case "Secret":
			if r.secret != nil {
				t.Fatalf("two Secrets")
			}
			r.secret = &corev1.Secret{}
			obj = r.secret
		case "ServiceAccount":
			r.serviceAccount = &corev1.ServiceAccount{}
			obj = r.serviceAccount
		case "Role":
			role := &rbacv1.Role{}
			obj = role
			defer func() {
				if role.Namespace == r.releaseNamespace {
					r.role = role
				} else {
					r.sourceRoles = append(r.sourceRoles, role)
				}
			}()
		case "RoleBinding":
			rb := &rbacv1.RoleBinding{}
			obj = rb
			defer func() {
				if rb.Namespace == r.releaseNamespace {
					r.roleBinding = rb
				} else {
					r.sourceRoleBindings = append(r.sourceRoleBindings, rb)
				}
			}()
		case "ClusterRole":
			r.clusterRole = &rbacv1.ClusterRole{}
			obj = r.clusterRole
		case "ClusterRoleBinding":
			r.clusterRoleBinding = &rbacv1.ClusterRoleBinding{}
			obj = r.clusterRoleBinding
		case "Ingress":
			r.ingress = &networkingv1.Ingress{}
			obj = r.ingress
		case "ResourceQuota":
			r.resourceQuota = &corev1.ResourceQuota{}
			obj = r.resourceQuota
		case "LimitRange":
			r.limitRange = &corev1.LimitRange{}
			obj = r.limitRange
		case "NetworkPolicy":
			np := &networkingv1.NetworkPolicy{}
			obj = np
			defer func() { r.networkPolicies[np.Name] = np }()
		default:
			t.Fatalf("unexpected kind %q in the manifest:\n%s", tm.Kind, doc)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("decoding %s: %v\n%s", tm.Kind, err, doc)
		}
		var m struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatal(err)
		}
		r.metas = append(r.metas, m.Metadata)
		r.kinds = append(r.kinds, tm.Kind+"/"+m.Metadata.Name)
		r.docs = append(r.docs, doc)
	}
	return r
}

// container is the StatefulSet's one container.
func (r *rendered) container(t *testing.T) corev1.Container {
	t.Helper()
	if r.statefulSet == nil {
		t.Fatal("no StatefulSet rendered")
	}
	cs := r.statefulSet.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	return cs[0]
}

// config loads the config Secret's vkube.yaml as the runtime does.
func (r *rendered) config(t *testing.T) (*config.Config, []string) {
	t.Helper()
	if r.secret == nil {
		t.Fatal("no config Secret rendered")
	}
	data, ok := r.secret.Data["vkube.yaml"]
	if !ok {
		t.Fatalf("Secret %s has no key vkube.yaml: %v", r.secret.Name, keys(r.secret.Data))
	}
	c, warnings, err := encoding.Load(data)
	if err != nil {
		t.Fatalf("encoding.Load of the rendered vkube.yaml: %v\n%s", err, data)
	}
	return c, warnings
}

// dataVolume describes the data volume: a claim template, or the pod volume named data.
func (r *rendered) dataVolume(t *testing.T) (claim *corev1.PersistentVolumeClaim, podVolume *corev1.Volume) {
	t.Helper()
	for i := range r.statefulSet.Spec.VolumeClaimTemplates {
		if c := &r.statefulSet.Spec.VolumeClaimTemplates[i]; c.Name == "data" {
			claim = c
		}
	}
	for i := range r.statefulSet.Spec.Template.Spec.Volumes {
		if v := &r.statefulSet.Spec.Template.Spec.Volumes[i]; v.Name == "data" {
			podVolume = v
		}
	}
	if (claim == nil) == (podVolume == nil) {
		t.Fatalf("want the data volume as exactly one of a claim template (%v) or a pod volume (%v)", claim != nil, podVolume != nil)
	}
	return claim, podVolume
}

// restrictedViolations evaluates the pod template against the latest restricted Pod Security
// Standard, as the host's admission would.
func restrictedViolations(t *testing.T, sts *appsv1.StatefulSet) string {
	t.Helper()
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lv := api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}
	res := policy.AggregateCheckResults(eval.EvaluatePod(lv, &sts.Spec.Template.ObjectMeta, &sts.Spec.Template.Spec))
	if res.Allowed {
		return ""
	}
	return res.ForbiddenReason() + ": " + res.ForbiddenDetail()
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := writeBytes(path, []byte(content)); err != nil {
		t.Fatal(err)
	}
}

func yamlDoc(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(bytes.TrimSpace(b))
}
