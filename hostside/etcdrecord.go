package hostside

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/names"
)

// The record's ConfigMap keys: the identity of the etcd cluster the replicas run, and, while the
// virtual cluster stays down because that cluster is lost, why.
const (
	EtcdRecordClusterKey = "cluster"
	EtcdRecordLostKey    = "lost"
	// EtcdRecordAcknowledgedKey holds the identity of a lost cluster whose loss the operator
	// accepted (`vkube create --upgrade --set controlPlane.backingStore.etcd.embedded.acknowledgeDataLoss=ID`).
	EtcdRecordAcknowledgedKey = "acknowledgeDataLoss"
	// ReasonEtcdClusterLost is the Warning event's reason on the StatefulSet.
	ReasonEtcdClusterLost = "EtcdClusterLost"
)

// EtcdRecord is backend.ClusterRecord in a host ConfigMap next to the PKI's Secret; a loss is
// also a Warning event on the StatefulSet, where `kubectl describe` shows it.
type EtcdRecord struct {
	Client    kubernetes.Interface
	Namespace string
	VCluster  string
}

var _ backend.ClusterRecord = (*EtcdRecord)(nil)

func (r *EtcdRecord) get(ctx context.Context) (*corev1.ConfigMap, error) {
	cm, err := r.Client.CoreV1().ConfigMaps(r.Namespace).Get(ctx, names.EtcdRecord(r.VCluster), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("host ConfigMap %s/%s: %w", r.Namespace, names.EtcdRecord(r.VCluster), err)
	}
	return cm, nil
}

// Cluster returns the recorded identity, "" when there is no record, and an acknowledged loss.
func (r *EtcdRecord) Cluster(ctx context.Context) (recorded, acknowledged string, err error) {
	cm, err := r.get(ctx)
	if cm == nil || err != nil {
		return "", "", err
	}
	return cm.Data[EtcdRecordClusterKey], cm.Data[EtcdRecordAcknowledgedKey], nil
}

// Acknowledge records that the operator accepts the loss of cluster id; a record that names
// another cluster, or none, is left alone.
func (r *EtcdRecord) Acknowledge(ctx context.Context, id string) error {
	cm, err := r.get(ctx)
	if err != nil || cm == nil || cm.Data[EtcdRecordClusterKey] != id {
		return err
	}
	data := map[string]string{EtcdRecordAcknowledgedKey: id}
	for k, v := range cm.Data {
		data[k] = v
	}
	return r.write(ctx, data)
}

// RecordCluster records id and clears a recorded loss.
func (r *EtcdRecord) RecordCluster(ctx context.Context, id string) error {
	return r.write(ctx, map[string]string{EtcdRecordClusterKey: id})
}

// RecordLoss keeps the loss in the record (`vkube list` reads it) and posts the Warning event.
func (r *EtcdRecord) RecordLoss(ctx context.Context, lost *backend.ClusterLostError) error {
	if err := r.write(ctx, map[string]string{EtcdRecordClusterKey: lost.ID, EtcdRecordLostKey: lost.Error()}); err != nil {
		return err
	}
	sts, err := r.Client.AppsV1().StatefulSets(r.Namespace).Get(ctx, r.VCluster, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("host StatefulSet %s/%s: %w", r.Namespace, r.VCluster, err)
	}
	now := metav1.NewTime(time.Now())
	_, err = r.Client.CoreV1().Events(r.Namespace).Create(ctx, &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: r.VCluster + ".", Namespace: r.Namespace},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: r.Namespace, Name: sts.Name, UID: sts.UID,
		},
		Type: corev1.EventTypeWarning, Reason: ReasonEtcdClusterLost, Message: lost.Error(),
		Source:         corev1.EventSource{Component: "vkube"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}, metav1.CreateOptions{})
	// The Role grants events only with several replicas (hostside.Access); one replica's loss is
	// in the record and the log.
	if err != nil && !apierrors.IsForbidden(err) {
		return fmt.Errorf("Warning event on StatefulSet %s/%s: %w", r.Namespace, r.VCluster, err)
	}
	return nil
}

func (r *EtcdRecord) write(ctx context.Context, data map[string]string) error {
	api := r.Client.CoreV1().ConfigMaps(r.Namespace)
	cm, err := r.get(ctx)
	if err != nil {
		return err
	}
	if cm == nil {
		_, err = api.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: names.EtcdRecord(r.VCluster), Namespace: r.Namespace, Labels: map[string]string{names.LabelCluster: r.VCluster}},
			Data:       data,
		}, metav1.CreateOptions{})
	} else {
		cm.Data = data
		_, err = api.Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("recording the etcd cluster in host ConfigMap %s/%s: %w", r.Namespace, names.EtcdRecord(r.VCluster), err)
	}
	return nil
}
