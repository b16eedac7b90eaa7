package charts

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"sigs.k8s.io/yaml"

	"vkube.io/vkube/config"
	"vkube.io/vkube/config/encoding"
)

// seedFiles are the legacy vcluster values of the seeds' write-ups.
func seedFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../config/legacy/testdata/seeds/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed values files: %v", err)
	}
	return files
}

// Every seed's values file renders, and the chart deploys what vkube makes of the values.
func TestSeedsRender(t *testing.T) {
	for _, f := range seedFiles(t) {
		seed := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(seed, func(t *testing.T) {
			r := mustRender(t, testName, testNamespace, valuesFiles(t, f))
			checkCommon(t, r)
			checkRole(t, r)
			checkAgainstRuntime(t, r)
			if _, warnings := r.config(t); len(warnings) == 0 {
				t.Error("the config Secret's legacy values loaded without the legacy warning: did they reach vkube?")
			}
			if extra, ok := seedChecks[seed]; ok {
				extra(t, r)
			}
		})
	}
}

// values.yaml sets no key that legacy values convert to, or the chart's defaults would override
// what a seed asks for: vkube makes the same of the config Secret as of the seed file alone.
func TestSeedsConfigKeepsLegacyMeaning(t *testing.T) {
	for _, f := range seedFiles(t) {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			alone, _, err := encoding.LoadFiles(f)
			if err != nil {
				t.Fatalf("encoding.LoadFiles: %v", err)
			}
			deployed, _ := mustRender(t, testName, testNamespace, valuesFiles(t, f)).config(t)
			for _, c := range []*config.Config{alone, deployed} {
				c.Name = testName
				c.SetDefaults()
			}
			if a, d := normalised(t, alone), normalised(t, deployed); !reflect.DeepEqual(a, d) {
				t.Errorf("vkube reads the seed differently once deployed:\nseed alone: %s\ndeployed:   %s", yamlDoc(a), yamlDoc(d))
			}
		})
	}
}

// `vkube create` converts legacy values before it installs the chart: the converted seeds
// deploy the same control plane as the raw ones.
func TestSeedsConvertedRender(t *testing.T) {
	for _, f := range seedFiles(t) {
		seed := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(seed, func(t *testing.T) {
			cfg, _, err := encoding.LoadFiles(f)
			if err != nil {
				t.Fatalf("encoding.LoadFiles: %v", err)
			}
			b, err := yaml.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var vals map[string]any
			if err := yaml.Unmarshal(b, &vals); err != nil {
				t.Fatal(err)
			}
			converted := mustRender(t, testName, testNamespace, vals)
			checkCommon(t, converted)
			checkAgainstRuntime(t, converted)
			if _, warnings := converted.config(t); len(warnings) > 0 {
				t.Errorf("converted values still warn: %q", warnings)
			}
			raw := mustRender(t, testName, testNamespace, valuesFiles(t, f))
			if a, b := workload(t, raw), workload(t, converted); !reflect.DeepEqual(a, b) {
				t.Errorf("the converted values deploy another StatefulSet:\nraw:       %s\nconverted: %s", yamlDoc(a), yamlDoc(b))
			}
			if extra, ok := seedChecks[seed]; ok {
				extra(t, converted)
			}
		})
	}
}

// workload is the StatefulSet's spec without what differs in form only: the config checksum,
// and a container seccompProfile equal to the pod's (the runtime's conversion adds one to a
// context that drops ALL; the chart's default sets it on the pod).
func workload(t *testing.T, r *rendered) any {
	t.Helper()
	spec := r.statefulSet.Spec.DeepCopy()
	delete(spec.Template.Annotations, "checksum/config")
	pod := spec.Template.Spec.SecurityContext
	for i := range spec.Template.Spec.Containers {
		if sc := spec.Template.Spec.Containers[i].SecurityContext; sc != nil && pod != nil && reflect.DeepEqual(sc.SeccompProfile, pod.SeccompProfile) {
			sc.SeccompProfile = nil
		}
	}
	return spec
}

var seedChecks = map[string]func(t *testing.T, r *rendered){
	// Non-root with a read-only root filesystem, as the seed configures; restricted passes.
	"000_1": restricted,
	// Every legacy component's securityContext, one adding CAP_NET_BIND_SERVICE.
	"000_4": restricted,
	// Storage, resources and a legacy mount of the data volume.
	"002_1": func(t *testing.T, r *rendered) {
		restricted(t, r)
		claim, _ := r.dataVolume(t)
		if claim == nil || claim.Spec.Resources.Requests.Storage().Cmp(resource.MustParse("50Gi")) != 0 || !ptrIs(claim.Spec.StorageClassName, "oci-bv") {
			t.Errorf("data claim %s, want 50Gi of oci-bv", yamlDoc(claim))
		}
		c := r.container(t)
		var data []string
		for _, m := range c.VolumeMounts {
			if m.MountPath == "/data" || m.Name == "data" {
				data = append(data, m.Name+" "+m.MountPath)
			}
		}
		if !slices.Equal(data, []string{"data /data"}) {
			t.Errorf("data mounts %v, want one", data)
		}
		want := corev1.ResourceRequirements{
			Requests: corev1.ResourceList{"cpu": resource.MustParse("200m"), "memory": resource.MustParse("256Mi")},
			Limits:   corev1.ResourceList{"memory": resource.MustParse("2Gi")},
		}
		if !equalResources(c.Resources, want) {
			t.Errorf("resources %+v", c.Resources)
		}
		// Persistent volumes to the host, host storage classes into the virtual cluster.
		if rules := clusterRules(t, r); len(rules["/persistentvolumes"]) == 0 || !slices.Equal(rules["storage.k8s.io/storageclasses"], []string{"list", "watch"}) {
			t.Errorf("ClusterRole rules %v", rules)
		}
	},
	"004_3": func(t *testing.T, r *rendered) {
		if rules := clusterRules(t, r); len(rules["/persistentvolumes"]) == 0 || !slices.Contains(rules["storage.k8s.io/storageclasses"], "create") {
			t.Errorf("ClusterRole rules %v", rules)
		}
	},
	// HA: three replicas of everything, etcd without persistence, v1.25.0 component images.
	"004_4": func(t *testing.T, r *rendered) {
		if got := *r.statefulSet.Spec.Replicas; got != 3 {
			t.Errorf("replicas %d, want 3", got)
		}
		if _, vol := r.dataVolume(t); vol == nil || vol.EmptyDir == nil {
			t.Errorf("data volume %s, want an emptyDir (etcd.storage.persistence: false)", yamlDoc(vol))
		}
		if got := r.container(t).Image; got != "ghcr.io/vkube/vkube:0.1.0-k8s-v1.25.0" {
			t.Errorf("image %s", got)
		}
	},
	// Real nodes.
	"004_5": func(t *testing.T, r *rendered) {
		if rules := clusterRules(t, r); !slices.Equal(rules["/nodes"], []string{"list", "watch"}) {
			t.Errorf("ClusterRole rules %v, want nodes", rules)
		}
	},
}

func restricted(t *testing.T, r *rendered) {
	t.Helper()
	if v := restrictedViolations(t, r.statefulSet); v != "" {
		t.Errorf("the pod fails the restricted Pod Security Standard: %s\n%s", v, yamlDoc(r.statefulSet.Spec.Template.Spec.SecurityContext))
	}
	csc := r.container(t).SecurityContext
	if csc == nil || csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(csc.Capabilities.Add) > 0 ||
		!ptrIs(csc.ReadOnlyRootFilesystem, true) || !ptrIs(csc.AllowPrivilegeEscalation, false) {
		t.Errorf("container securityContext %s", yamlDoc(csc))
	}
	if psc := r.statefulSet.Spec.Template.Spec.SecurityContext; !ptrIs(psc.FSGroup, int64(1000)) || !ptrIs(psc.RunAsUser, int64(1000)) || psc.SeccompProfile == nil ||
		psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %s", yamlDoc(psc))
	}
}
