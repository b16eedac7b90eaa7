package translate

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// VolumeSecretNames are the Secret names an inline volume source hands to its driver or the
// kubelet (csi, iscsi, rbd, cephfs, flexVolume, scaleIO, storageos, azureFile). On the host they
// resolve in the host namespace, so a raw name would hand the driver a Secret vkube does not own
// (the control plane's config holds the datastore's password): each is renamed to the twin of the
// tenant's own Secret, which the syncer then syncs like any Secret a pod uses.
func VolumeSecretNames(vol *corev1.Volume) []*string {
	var out []*string
	ref := func(r *corev1.LocalObjectReference) {
		if r != nil {
			out = append(out, &r.Name)
		}
	}
	switch {
	case vol.CSI != nil:
		ref(vol.CSI.NodePublishSecretRef)
	case vol.ISCSI != nil:
		ref(vol.ISCSI.SecretRef)
	case vol.RBD != nil:
		ref(vol.RBD.SecretRef)
	case vol.CephFS != nil:
		ref(vol.CephFS.SecretRef)
	case vol.FlexVolume != nil:
		ref(vol.FlexVolume.SecretRef)
	case vol.ScaleIO != nil:
		ref(vol.ScaleIO.SecretRef)
	case vol.StorageOS != nil:
		ref(vol.StorageOS.SecretRef)
	case vol.AzureFile != nil:
		out = append(out, &vol.AzureFile.SecretName)
	}
	return out
}

// hostClaimSource translates a claim's dataSource or dataSourceRef: the host would clone
// whatever the name means in the host namespace (the control plane's own data volume, another
// tenant's claim). Only a claim of the same virtual namespace is a source, as its twin; any
// other kind (VolumeSnapshots are not synced) or another namespace is refused.
func hostClaimSource(field, kind string, apiGroup *string, namespace *string, name *string, vns, vcluster string) error {
	if kind != "PersistentVolumeClaim" || (apiGroup != nil && *apiGroup != "") || (namespace != nil && *namespace != "" && *namespace != vns) {
		return fmt.Errorf("%s: only a PersistentVolumeClaim of the same namespace can be a volume's source on the host", field)
	}
	if namespace != nil {
		*namespace = ""
	}
	*name = HostName(*name, vns, vcluster)
	return nil
}

// HostClaimSpec translates the data sources of a claim's spec in place (see hostClaimSource);
// path names the spec in an error ("spec", "spec.volumes[0].ephemeral.volumeClaimTemplate.spec").
func HostClaimSpec(spec *corev1.PersistentVolumeClaimSpec, path, vns, vcluster string) error {
	if ds := spec.DataSource; ds != nil {
		if err := hostClaimSource(path+".dataSource", ds.Kind, ds.APIGroup, nil, &ds.Name, vns, vcluster); err != nil {
			return err
		}
	}
	if ds := spec.DataSourceRef; ds != nil {
		if err := hostClaimSource(path+".dataSourceRef", ds.Kind, ds.APIGroup, ds.Namespace, &ds.Name, vns, vcluster); err != nil {
			return err
		}
	}
	return nil
}
