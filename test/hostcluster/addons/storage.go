package addons

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

const (
	// StorageClass is the default StorageClass; its claims get hostPath volumes.
	StorageClass = "standard"
	// Provisioner is the provisioner name of StorageClass and of the volumes it creates.
	Provisioner = "vkube.io/host-path"
	// annProvisionedBy tells kube-controller-manager an external provisioner deletes the volume.
	annProvisionedBy = "pv.kubernetes.io/provisioned-by"
	defaultSize      = "1Gi"
)

// storage binds claims of StorageClass to new hostPath volumes, one directory each, and removes
// the directory and the volume once the claim is gone. kube-controller-manager does the binding
// itself: the volume is created with its claimRef already set.
type storage struct {
	client kubernetes.Interface
	pvcs   corelisters.PersistentVolumeClaimLister
	pvs    corelisters.PersistentVolumeLister
	dir    string
	node   string
	queue  *queue
	logger *slog.Logger
}

func newStorage(client kubernetes.Interface, f informers.SharedInformerFactory, dir, node string, logger *slog.Logger) *storage {
	s := &storage{client: client, dir: dir, node: node, queue: newQueue("host-path", logger), logger: logger}
	pvcInf := f.Core().V1().PersistentVolumeClaims()
	pvInf := f.Core().V1().PersistentVolumes()
	s.pvcs, s.pvs = pvcInf.Lister(), pvInf.Lister()
	enqueue := func(prefix string) cache.ResourceEventHandlerFuncs {
		add := func(obj any) {
			if key, ok := keyOf(obj); ok {
				s.queue.add(prefix + key)
			}
		}
		return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, obj any) { add(obj) }, DeleteFunc: add}
	}
	pvcInf.Informer().AddEventHandler(enqueue("pvc/"))
	pvInf.Informer().AddEventHandler(enqueue("pv/"))
	return s
}

// ensureClass creates the default StorageClass, waiting for the API to come up.
func (s *storage) ensureClass(ctx context.Context) error {
	class := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: StorageClass, Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:       Provisioner,
		ReclaimPolicy:     ptr(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr(storagev1.VolumeBindingImmediate),
	}
	err := wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
		_, err := s.client.StorageV1().StorageClasses().Create(ctx, class, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			return true, nil
		}
		s.logger.Info("waiting for the API to create the StorageClass", "err", err)
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("addons: storage class %s: %w", StorageClass, err)
	}
	return nil
}

func (s *storage) sync(ctx context.Context, key string) error {
	if name, ok := strings.CutPrefix(key, "pv/"); ok {
		return s.syncVolume(ctx, name)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(strings.TrimPrefix(key, "pvc/"))
	if err != nil {
		return nil
	}
	return s.syncClaim(ctx, ns, name)
}

func (s *storage) syncClaim(ctx context.Context, ns, name string) error {
	pvc, err := s.pvcs.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pvc.Spec.VolumeName != "" || pvc.DeletionTimestamp != nil || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != StorageClass {
		return nil
	}
	if pvc.Spec.VolumeMode != nil && *pvc.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		s.logger.Warn("block volumes are not supported", "claim", ns+"/"+name)
		return nil
	}
	pvName := "pvc-" + string(pvc.UID)
	if _, err := s.pvs.Get(pvName); err == nil {
		return nil
	}
	path := filepath.Join(s.dir, pvName)
	if err := os.MkdirAll(path, 0o777); err != nil {
		return fmt.Errorf("create volume directory: %w", err)
	}
	// fsGroup does not apply to hostPath volumes: only an open mode lets non-root pods write.
	if err := os.Chmod(path, 0o777); err != nil {
		return fmt.Errorf("create volume directory: %w", err)
	}
	size, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok || size.IsZero() {
		size = resource.MustParse(defaultSize)
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName, Annotations: map[string]string{annProvisionedBy: Provisioner}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   pvc.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              StorageClass,
			VolumeMode:                    pvc.Spec.VolumeMode,
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: ns, Name: name, UID: pvc.UID,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: path, Type: ptr(corev1.HostPathDirectoryOrCreate)},
			},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{s.node},
				}}}},
			}},
		},
	}
	if _, err := s.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create volume %s: %w", pvName, err)
	}
	s.logger.Info("provisioned", "claim", ns+"/"+name, "volume", pvName, "path", path)
	return nil
}

func (s *storage) syncVolume(ctx context.Context, name string) error {
	pv, err := s.pvs.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pv.Annotations[annProvisionedBy] != Provisioner || pv.DeletionTimestamp != nil ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		(pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed) {
		return nil
	}
	if pv.Spec.HostPath != nil && filepath.Dir(pv.Spec.HostPath.Path) == filepath.Clean(s.dir) {
		if err := os.RemoveAll(pv.Spec.HostPath.Path); err != nil {
			return fmt.Errorf("remove volume directory: %w", err)
		}
	}
	if err := s.client.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete volume %s: %w", name, err)
	}
	s.logger.Info("deleted", "volume", name)
	return nil
}

func ptr[T any](v T) *T { return &v }
