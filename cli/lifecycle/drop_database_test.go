package lifecycle

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	release "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"vkube.io/vkube/charts"
	"vkube.io/vkube/names"
)

// TestDropDatabasePod: the one-shot pod is the chart's control-plane pod running
// `vkube drop-database` on the same config file, and nothing selects it as a replica.
func TestDropDatabasePod(t *testing.T) {
	values := externalDatabase("postgres://u:s3cret@db:5432/?sslmode=disable")
	// The harder case: the data volume is a claim of the StatefulSet's, not of the pod template.
	values["controlPlane"].(map[string]any)["statefulSet"] = map[string]any{"persistence": map[string]any{"volumeClaim": map[string]any{"enabled": true}}}
	sts, _ := renderControlPlane(t, "team-a", "vkube-team-a", values)
	if len(sts.Spec.VolumeClaimTemplates) == 0 {
		t.Fatal("the chart rendered no volume claim template")
	}
	pod := dropDatabasePod(sts, "team-a", "vkube-team-a")
	tmpl := sts.Spec.Template.Spec

	if pod.Name != "team-a-drop-database" || pod.Namespace != "vkube-team-a" {
		t.Errorf("pod %s/%s", pod.Namespace, pod.Name)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	ctr, want := pod.Spec.Containers[0], tmpl.Containers[0]
	if got := strings.Join(ctr.Args, " "); got != "drop-database --config /etc/vkube/vkube.yaml --name team-a --host-namespace vkube-team-a" {
		t.Errorf("args %q", got)
	}
	if !slices.Contains(want.Args, configPath) {
		t.Errorf("the chart's args %q do not name %s", want.Args, configPath)
	}
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever || ctr.StartupProbe != nil || ctr.ReadinessProbe != nil || ctr.LivenessProbe != nil {
		t.Errorf("restart policy %s, probes %v %v %v", pod.Spec.RestartPolicy, ctr.StartupProbe, ctr.ReadinessProbe, ctr.LivenessProbe)
	}
	if ctr.Image != want.Image || !reflect.DeepEqual(ctr.Env, want.Env) || !reflect.DeepEqual(ctr.SecurityContext, want.SecurityContext) ||
		!reflect.DeepEqual(ctr.VolumeMounts, want.VolumeMounts) || !reflect.DeepEqual(ctr.Resources, want.Resources) {
		t.Errorf("container differs from the control plane's beyond args and probes:\n%+v\n%+v", ctr, want)
	}
	if pod.Spec.ServiceAccountName != tmpl.ServiceAccountName || !reflect.DeepEqual(pod.Spec.SecurityContext, tmpl.SecurityContext) {
		t.Errorf("service account %q, pod security context %+v", pod.Spec.ServiceAccountName, pod.Spec.SecurityContext)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range ctr.VolumeMounts {
		if _, ok := volumes[m.Name]; !ok {
			t.Errorf("mount %s has no volume (the claim templates are the StatefulSet's)", m.Name)
		}
	}
	if v := volumes["config"]; v.Secret == nil || v.Secret.SecretName != names.ConfigSecret("team-a") {
		t.Errorf("config volume %+v", v)
	}
	selector, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if selector.Matches(labels.Set(pod.Labels)) || pod.Labels[labelCluster] != "team-a" {
		t.Errorf("labels %v: want vkube.io/cluster and none that the StatefulSet selects (%s)", pod.Labels, selector)
	}
}

// TestCheckDroppable: --drop-database is refused before anything is deleted unless the
// configuration's DSN named no database; a DSN in a file is for the pod to check.
func TestCheckDroppable(t *testing.T) {
	cases := []struct {
		name   string
		values map[string]any
		want   string // "" : accepted
	}{
		{"postgres naming no database", externalDatabase("postgres://u:s3cret@db:5432/?sslmode=disable"), ""},
		{"mariadb naming no database", externalDatabase("mariadb://u:s3cret@tcp(db:3306)/"), ""},
		{"dsn in a file", map[string]any{"controlPlane": map[string]any{"backingStore": map[string]any{"database": map[string]any{"external": map[string]any{"enabled": true, "dataSourceFile": "/dsn/dsn"}}}}}, ""},
		{"postgres naming a database", externalDatabase("postgres://u:s3cret@db:5432/mine"), `names database "mine"`},
		{"sqlite", nil, "SQLite"},
		{"embedded etcd", map[string]any{"controlPlane": map[string]any{"backingStore": map[string]any{"etcd": map[string]any{"embedded": map[string]any{"enabled": true}}}}}, "embedded etcd"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, secret := renderControlPlane(t, "team-a", "vkube-team-a", tc.values)
			err := droppable(secret.Data[configKey], "vkube-team-a", "team-a")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want a refusal naming %q, got %v", tc.want, err)
			case err != nil && strings.Contains(err.Error(), "s3cret"):
				t.Fatalf("the refusal shows the password: %v", err)
			}
		})
	}
}

func externalDatabase(dsn string) map[string]any {
	return map[string]any{"controlPlane": map[string]any{"backingStore": map[string]any{
		"database": map[string]any{"external": map[string]any{"enabled": true, "dataSource": dsn}}}}}
}

// renderControlPlane renders the embedded chart client-side, as vkube create installs it, and
// returns its StatefulSet and config Secret.
func renderControlPlane(t *testing.T, name, ns string, values map[string]any) (*appsv1.StatefulSet, *corev1.Secret) {
	t.Helper()
	ch, err := charts.Load()
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName, install.Namespace, install.Replace = name, ns, true
	rel, err := install.Run(ch, values)
	if err != nil {
		t.Fatalf("rendering the chart: %v", err)
	}
	var sts *appsv1.StatefulSet
	var secret *corev1.Secret
	for _, doc := range bytes.Split([]byte(rel.(*release.Release).Manifest), []byte("\n---")) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		switch tm.Kind {
		case "StatefulSet":
			sts = &appsv1.StatefulSet{}
			err = yaml.Unmarshal(doc, sts)
		case "Secret":
			secret = &corev1.Secret{}
			err = yaml.Unmarshal(doc, secret)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if sts == nil || secret == nil {
		t.Fatalf("the chart rendered no StatefulSet or no Secret")
	}
	return sts, secret
}
