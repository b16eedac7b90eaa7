package translate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestHostClaimSpecRenamesOnlyTheTenantsOwnClaims(t *testing.T) {
	spec := corev1.PersistentVolumeClaimSpec{
		DataSource:    &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "data"},
		DataSourceRef: &corev1.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "data"},
	}
	if err := HostClaimSpec(&spec, "spec", "team", "vc"); err != nil {
		t.Fatal(err)
	}
	want := HostName("data", "team", "vc")
	if spec.DataSource.Name != want || spec.DataSourceRef.Name != want {
		t.Fatalf("sources %q, %q, want the twin %q", spec.DataSource.Name, spec.DataSourceRef.Name, want)
	}
	for name, bad := range map[string]corev1.PersistentVolumeClaimSpec{
		"a snapshot":         {DataSource: &corev1.TypedLocalObjectReference{APIGroup: ptr.To("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "s"}},
		"another namespace":  {DataSourceRef: &corev1.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "data-vc-0", Namespace: ptr.To("vkube-vc")}},
		"a custom populator": {DataSourceRef: &corev1.TypedObjectReference{APIGroup: ptr.To("example.com"), Kind: "Populator", Name: "p"}},
	} {
		if err := HostClaimSpec(&bad, "spec", "team", "vc"); err == nil || !strings.Contains(err.Error(), "spec.dataSource") {
			t.Errorf("%s: want a refusal naming the field, got %v", name, err)
		}
	}
}

func TestHostPodRenamesInlineVolumeSecrets(t *testing.T) {
	v := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "csi", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "d", NodePublishSecretRef: &corev1.LocalObjectReference{Name: "vc-config-vc"}}}},
		{Name: "smb", VolumeSource: corev1.VolumeSource{AzureFile: &corev1.AzureFileVolumeSource{SecretName: "vc-certs", ShareName: "s"}}},
		{Name: "clone", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
			Spec: corev1.PersistentVolumeClaimSpec{DataSource: &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "data"}}}}}},
	}, Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	v.Name, v.Namespace = "p", "team"
	h, err := Pod{Context: Context{VCluster: "vc", HostNamespace: "vkube-vc"}}.HostPod(v)
	if err != nil {
		t.Fatal(err)
	}
	vols := h.Spec.Volumes
	if got := vols[0].CSI.NodePublishSecretRef.Name; got != HostName("vc-config-vc", "team", "vc") {
		t.Errorf("csi secret %q reaches the host untranslated", got)
	}
	if got := vols[1].AzureFile.SecretName; got != HostName("vc-certs", "team", "vc") {
		t.Errorf("azureFile secret %q reaches the host untranslated", got)
	}
	if got := vols[2].Ephemeral.VolumeClaimTemplate.Spec.DataSource.Name; got != HostName("data", "team", "vc") {
		t.Errorf("ephemeral claim source %q reaches the host untranslated", got)
	}
	v.Spec.Volumes[2].Ephemeral.VolumeClaimTemplate.Spec.DataSource.Name = "data"
	v.Spec.Volumes[2].Ephemeral.VolumeClaimTemplate.Spec.DataSource.Kind = "VolumeSnapshot"
	if _, err := (Pod{Context: Context{VCluster: "vc", HostNamespace: "vkube-vc"}}).HostPod(v); err == nil {
		t.Error("an ephemeral volume cloned from a snapshot reached the host")
	}
}
